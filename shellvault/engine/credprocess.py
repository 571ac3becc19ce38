"""credential_process: the root profile's credentials from a command's JSON output
(`shellvault.process`); aws-vault's CredentialProcessProvider."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Profile
    from ..creds import Session


class CredentialProcess:
    def __init__(self, root: Profile) -> None:
        self.root = root

    def retrieve(self) -> Session:
        from ..process import run_credential_process

        return run_credential_process(self.root)
