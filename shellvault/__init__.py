"""shellvault: MFA once, roles in many AWS accounts, from any shell."""

__version__ = "0.1.0"
