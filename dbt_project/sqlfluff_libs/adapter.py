"""dbt's ``adapter`` object, for sqlfluff's jinja templater: a relation has no columns yet."""


def get_columns_in_relation(relation):
    return []


def quote(identifier):
    return f'"{identifier}"'


def dispatch(macro_name, macro_namespace=None):
    """A dispatched macro renders as a function call of its name (the stand-in cannot see the project's macros)."""
    return lambda *args: f"{macro_name}({', '.join(str(a) for a in args)})"
