"""The levi2023 page (draft)."""

INTRO = "draft"


def sections(ctx):
    return []
