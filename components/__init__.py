"""One pulumi.ComponentResource per concept; see ../shared/DESIGN.md."""
