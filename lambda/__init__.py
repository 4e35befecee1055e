"""Lambda handler sources. Each sub-folder is one asset; this package only exists to ship them in the wheel."""
