"""dbt's ``modules`` (the Python modules dbt exposes to Jinja), for sqlfluff's jinja templater."""

import datetime
import re

__all__ = ["datetime", "re"]
