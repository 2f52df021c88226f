"""SLS Console: the staff side of a brokerage's Secure Login System."""

__version__ = "0.1.0"
