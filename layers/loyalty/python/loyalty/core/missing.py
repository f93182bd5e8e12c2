"""A port's answer for "no such resource" where None already means something (a resource of the head office)."""


class Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()
