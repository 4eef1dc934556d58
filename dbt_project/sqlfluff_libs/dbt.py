"""dbt's cross-database macros (``dbt.dateadd`` …) as DuckDB renders them, for sqlfluff's jinja templater."""


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"{from_date_or_timestamp} + (interval ({interval}) {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def concat(fields):
    return f"({' || '.join(fields)})"


def hash(field):  # noqa: A001 — the name of dbt's macro
    return f"md5(cast({field} as varchar))"


def type_string():
    return "varchar"


def current_timestamp():
    return "now()"


def date_spine(datepart, start_date, end_date):
    return f"select range as date_{datepart} from range({start_date}, {end_date}, interval 1 {datepart})"
