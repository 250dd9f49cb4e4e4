"""Sweeps: TOML profiles, grid/random planning, Optuna search, and the runner that stores each trial."""

from app.sweeps.errors import ProfileError
from app.sweeps.profile import Axis, Constraint, Objective, Profile
from app.sweeps.profile_dump import dump_profile
from app.sweeps.profile_parse import load_profile, parse_profile
from app.sweeps.runner import run_profile

__all__ = ["Axis", "Constraint", "Objective", "Profile", "ProfileError", "dump_profile", "load_profile",
           "parse_profile", "run_profile"]
