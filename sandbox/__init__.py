"""The outside world for demos and tests: a connectFi-style ACH API and an ODFI behind SFTP.

Never imports ``pipeline``; the ODFI side uses ``nacha`` to read and write files.
"""

from sandbox.clock import SandboxClock
from sandbox.errors import SANDBOX_ERROR_CODES, ApiFailure, SandboxError
from sandbox.scenario import ClientConfig, Outcome, Scenario, ScenarioError
from sandbox.server import Sandbox

__all__ = [
    "SANDBOX_ERROR_CODES",
    "ApiFailure",
    "ClientConfig",
    "Outcome",
    "Sandbox",
    "SandboxClock",
    "SandboxError",
    "Scenario",
    "ScenarioError",
]
