"""Master keys: the IAM user's long-term access key, stored in the vault by `add`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..creds import Credentials, Session
from ..errors import ShellvaultError

if TYPE_CHECKING:
    from ..config import Profile
    from .context import Context


class MasterKeys:
    """The root profile's stored key pair (aws-vault's KeyringProvider)."""

    def __init__(self, ctx: Context, root: Profile) -> None:
        self.ctx = ctx
        self.root = root

    def credentials(self) -> Credentials:
        vault = self.ctx.vault
        master = vault.get_master(self.root.name)
        if master is None:  # a missing key is the setup's state, not a usage error: exit 1
            raise ShellvaultError(
                f"no access key stored for profile {self.root.name} in the "
                f"{vault.store.describe()}; run 'shellvault add {self.root.name}'"
            )
        return master

    def retrieve(self) -> Session:
        return Session(self.credentials())
