"""The local runtime: the real workflow against an in-process AWS emulation (moto)."""
