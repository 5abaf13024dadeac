"""Domain errors carry a French message for the municipal user and an English one for logs."""


class DomainError(Exception):
    """A rule of the law or of the archive refused a command; nothing was recorded."""

    def __init__(self, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.message_fr = message_fr


class RuleViolation(DomainError):
    """The command breaks a legal rule (retention, legal basis, four eyes...)."""


class InvalidState(DomainError):
    """The aggregate is not in a state where the command makes sense."""
