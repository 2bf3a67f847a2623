// dbt's cross-database macros (dbt-core's global_project/macros/utils and current_timestamp), written for SQLite as
// the `sqlite__<name>` implementations `adapter.dispatch` finds: same names, parameters and defaults as dbt's, and
// SQL that gives the values Postgres gives for dbt's Postgres implementation. The renderer defines the dispatching
// `dbt.<name>` wrappers itself. What SQLite cannot match exactly is said at the macro. For a PostgreSQL target,
// dispatch finds dbt's own SQL instead (DEFAULT_AND_POSTGRES_CROSS_DB_MACROS, at the end).
//
// Dates and times are ISO-8601 text in SQLite, and come out as text too: 'YYYY-MM-DD' where Postgres gives a date
// (last_day), 'YYYY-MM-DD HH:MM:SS' where it gives a timestamp (date_trunc, dateadd, current_timestamp), with
// '.SSS' (trailing zeros dropped, as Postgres prints them) only when a timestamp has a fraction of a second.
// Inputs are what SQLite's date functions read: ISO text ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS[.SSS]]', a 'T' for the
// space) in years 0000-9999, or a Julian day number. Text they cannot read gives NULL where Postgres would fail, and
// an offset ('Z', '+02:00') is converted to UTC where a Postgres timestamp would ignore it. SQLite keeps
// milliseconds: finer digits are dropped.
//
// Helpers the macros need are SQL functions registered on each connection (data/sqlFunctions.ts): md5,
// segment_lens_split_part, segment_lens_is_number. A datepart or type a macro does not know renders as a call to a
// function named after the problem, e.g. "dbt.date_trunc: datepart 'decade' is not supported on SQLite"(), so
// SQLite rejects the query with that message (no such function: …) before it runs.

/** The public names of the macros SQLITE_CROSS_DB_MACROS implements, each as `sqlite__<name>`. */
export const CROSS_DB_MACRO_NAMES: readonly string[] = [
  'date_trunc',
  'dateadd',
  'datediff',
  'last_day',
  'concat',
  'hash',
  'safe_cast',
  'cast',
  'type_string',
  'type_int',
  'type_bigint',
  'type_float',
  'type_numeric',
  'type_timestamp',
  'type_boolean',
  'current_timestamp',
  'any_value',
  'bool_or',
  'listagg',
  'split_part',
  'replace',
  'right',
  'length',
  'position',
  'escape_single_quotes',
  'string_literal',
  'except',
  'intersect',
  'cast_bool_to_text',
];

/**
 * Jinja source defining `sqlite__<name>` for each of CROSS_DB_MACRO_NAMES, and private `sqlite__lens_*` helpers. It
 * renders to nothing by itself (every tag trims the whitespace between definitions) and leaves the text after it
 * alone. Each macro renders to one line of SQL without surrounding whitespace.
 */
export const SQLITE_CROSS_DB_MACROS: string = String.raw`
{#- ---------------------------------------------------------------- private helpers -#}

{#- SQL that SQLite refuses to prepare, with the message as the missing function's name. -#}
{%- macro sqlite__lens_unsupported(message) -%}
"{{ message | replace('"', '""') }}"()
{%- endmacro -%}

{#- datepart as dbt compares it, whatever its case or surrounding spaces. -#}
{%- macro sqlite__lens_datepart(datepart) -%}
{{ datepart | string | lower | trim }}
{%- endmacro -%}

{#- A timestamp as text: 'YYYY-MM-DD HH:MM:SS', then '.SSS' without its trailing zeros if there is a fraction. -#}
{%- macro sqlite__lens_timestamp(expression, modifiers=[]) -%}
rtrim(rtrim(strftime('%Y-%m-%d %H:%M:%f', {{ expression }}{% for modifier in modifiers %}, {{ modifier }}{% endfor %}), '0'), '.')
{%- endmacro -%}

{#- A value as a Postgres boolean would read it, as 1, 0 or NULL: numbers by whether they are 0, text by Postgres's
    words for true and false ('t', 'true', 'y', 'yes', 'on', '1' and their opposites, any case; not their
    abbreviations), anything else NULL where Postgres would fail. -#}
{%- macro sqlite__lens_truthy(value) -%}
case when ({{ value }}) is null then null when typeof({{ value }}) in ('integer', 'real') then ({{ value }}) <> 0 when lower(trim({{ value }})) in ('t', 'true', 'y', 'yes', 'on', '1') then 1 when lower(trim({{ value }})) in ('f', 'false', 'n', 'no', 'off', '0') then 0 end
{%- endmacro -%}

{#- The month (1-12) of a date or timestamp. -#}
{%- macro sqlite__lens_month(date) -%}
cast(strftime('%m', {{ date }}) as integer)
{%- endmacro -%}

{#- cast and safe_cast. The type is read as Postgres reads it, and the value converted as Postgres would:
      text types            cast(… as text)
      integer types         REALs rounded half away from zero (Postgres rounds a numeric so, a double half to
                            even), then cast(… as integer)
      numeric/decimal(p, s) rounded to s places (a REAL; s = 0 as an integer); without (p, s) cast(… as numeric)
      float/real/double     cast(… as real)
      date                  date(…), a timestamp truncated to its day
      timestamp, datetime   the timestamp text above (an offset converted to UTC)
      boolean               1/0 as sqlite__lens_truthy reads it
      anything else         cast(… as <type>), SQLite's own cast
    safe: text that is not a number (an integer, for integer types) gives NULL instead of SQLite's leading-number
    reading; dates, timestamps and booleans give NULL for what they cannot read, safe or not. -#}
{%- macro sqlite__lens_cast(field, type, safe) -%}
{%- set name = type | string | lower | trim -%}
{%- set base = name.split('(')[0] | trim -%}
{%- set args = name.split('(')[1].split(')')[0].split(',') if '(' in name else [] -%}
{%- set scale = (args[1] | trim | int) if args | length > 1 else 0 -%}
{%- set integers = ['int', 'integer', 'bigint', 'smallint', 'tinyint', 'mediumint', 'int2', 'int4', 'int8', 'int64', 'serial', 'bigserial'] -%}
{%- set numerics = ['numeric', 'decimal', 'number'] -%}
{%- set floats = ['float', 'real', 'double', 'double precision', 'float4', 'float8', 'float64'] -%}
{%- set texts = ['text', 'string', 'varchar', 'character varying', 'char', 'character', 'nvarchar', 'nchar', 'clob'] -%}
{%- set timestamps = ['timestamp', 'datetime', 'timestamp without time zone', 'timestamptz', 'timestamp with time zone'] -%}
{%- if base in texts -%}
cast({{ field }} as text)
{%- elif base in integers or (base in numerics and args | length > 0 and scale == 0) -%}
{%- if safe -%}case when segment_lens_is_number({{ field }}, 1) then {% endif -%}
cast(case when typeof({{ field }}) = 'real' then round({{ field }}) else {{ field }} end as integer)
{%- if safe %} end{% endif -%}
{%- elif base in numerics -%}
{%- if safe -%}case when segment_lens_is_number({{ field }}, 0) then {% endif -%}
{%- if args | length > 0 -%}round(cast({{ field }} as real), {{ scale }}){%- else -%}cast({{ field }} as numeric){%- endif -%}
{%- if safe %} end{% endif -%}
{%- elif base in floats -%}
{%- if safe -%}case when segment_lens_is_number({{ field }}, 0) then {% endif -%}
cast({{ field }} as real)
{%- if safe %} end{% endif -%}
{%- elif base == 'date' -%}
date({{ field }})
{%- elif base in timestamps -%}
{{ sqlite__lens_timestamp(field) }}
{%- elif base in ['boolean', 'bool'] -%}
{{ sqlite__lens_truthy(field) }}
{%- else -%}
cast({{ field }} as {{ type }})
{%- endif -%}
{%- endmacro -%}

{#- ---------------------------------------------------------------- dates -#}

{#- The start of the datepart's period, as a timestamp (Postgres's date_trunc returns one, for dates too). Weeks start
    on Monday, as in Postgres. dateparts: second, minute, hour, day, week, month, quarter, year. -#}
{%- macro sqlite__date_trunc(datepart, date) -%}
{%- set part = sqlite__lens_datepart(datepart) -%}
{%- if part == 'second' -%}
datetime({{ date }})
{%- elif part == 'minute' -%}
strftime('%Y-%m-%d %H:%M:00', {{ date }})
{%- elif part == 'hour' -%}
strftime('%Y-%m-%d %H:00:00', {{ date }})
{%- elif part == 'day' -%}
datetime({{ date }}, 'start of day')
{%- elif part == 'week' -%}
datetime({{ date }}, 'start of day', '-6 days', 'weekday 1')
{%- elif part == 'month' -%}
datetime({{ date }}, 'start of month')
{%- elif part == 'quarter' -%}
datetime({{ date }}, 'start of year', ((({{ sqlite__lens_month(date) }}) - 1) / 3 * 3) || ' months')
{%- elif part == 'year' -%}
datetime({{ date }}, 'start of year')
{%- else -%}
{{ sqlite__lens_unsupported("dbt.date_trunc: datepart '" ~ datepart ~ "' is not supported on SQLite") }}
{%- endif -%}
{%- endmacro -%}

{#- from_date_or_timestamp plus interval dateparts, as a timestamp (as Postgres's date + interval). Months, quarters
    and years end on the month's last day when the day does not exist there (Jan 31 + 1 month = Feb 29 or 28), as in
    Postgres. A fractional interval adds a fraction of a day for day and shorter dateparts, as Postgres does; for
    longer ones the fraction of a month counts 30 days (as Postgres), of a year 365 days (Postgres: months).
    dateparts: second, minute, hour, day, week, month, quarter, year. -#}
{%- macro sqlite__dateadd(datepart, interval, from_date_or_timestamp) -%}
{%- set part = sqlite__lens_datepart(datepart) -%}
{%- if part in ['second', 'minute', 'hour', 'day'] -%}
{{ sqlite__lens_timestamp(from_date_or_timestamp, ["(" ~ interval ~ ") || ' " ~ part ~ "s'"]) }}
{%- elif part == 'week' -%}
{{ sqlite__lens_timestamp(from_date_or_timestamp, ["((" ~ interval ~ ") * 7) || ' days'"]) }}
{%- elif part == 'month' -%}
{{ sqlite__lens_timestamp(from_date_or_timestamp, ["(" ~ interval ~ ") || ' months'", "'floor'"]) }}
{%- elif part == 'quarter' -%}
{{ sqlite__lens_timestamp(from_date_or_timestamp, ["((" ~ interval ~ ") * 3) || ' months'", "'floor'"]) }}
{%- elif part == 'year' -%}
{{ sqlite__lens_timestamp(from_date_or_timestamp, ["(" ~ interval ~ ") || ' years'", "'floor'"]) }}
{%- else -%}
{{ sqlite__lens_unsupported("dbt.dateadd: datepart '" ~ datepart ~ "' is not supported on SQLite") }}
{%- endif -%}
{%- endmacro -%}

{#- The number of datepart boundaries between first_date and second_date (negative when second_date is earlier), as
    an integer: dbt's Postgres datediff, which counts years, quarters and months from their numbers, days between the
    dates, hours, minutes and seconds from the day count down, milliseconds exactly. Weeks are counted as boundaries
    too, with Postgres's datediff week starting on Sunday. One difference: dbt's Postgres macro counts one week too
    few when second_date is earlier and on the same weekday (2024-01-14 to 2024-01-07 gives -2, a timestamp to an
    earlier one the same day -1); this one counts -1 and 0.
    dateparts: second, minute, hour, day, week, month, quarter, year, millisecond. -#}
{%- macro sqlite__datediff(first_date, second_date, datepart) -%}
{%- set part = sqlite__lens_datepart(datepart) -%}
{%- if part == 'year' -%}
(cast(strftime('%Y', {{ second_date }}) as integer) - cast(strftime('%Y', {{ first_date }}) as integer))
{%- elif part == 'quarter' -%}
({{ sqlite__datediff(first_date, second_date, 'year') }} * 4 + ({{ sqlite__lens_month(second_date) }} + 2) / 3 - ({{ sqlite__lens_month(first_date) }} + 2) / 3)
{%- elif part == 'month' -%}
({{ sqlite__datediff(first_date, second_date, 'year') }} * 12 + {{ sqlite__lens_month(second_date) }} - {{ sqlite__lens_month(first_date) }})
{%- elif part == 'week' -%}
(cast(julianday({{ second_date }}, 'start of day') + 1.5 as integer) / 7 - cast(julianday({{ first_date }}, 'start of day') + 1.5 as integer) / 7)
{%- elif part == 'day' -%}
((unixepoch({{ second_date }}, 'start of day') - unixepoch({{ first_date }}, 'start of day')) / 86400)
{%- elif part == 'hour' -%}
((unixepoch(strftime('%Y-%m-%d %H:00:00', {{ second_date }})) - unixepoch(strftime('%Y-%m-%d %H:00:00', {{ first_date }}))) / 3600)
{%- elif part == 'minute' -%}
((unixepoch(strftime('%Y-%m-%d %H:%M:00', {{ second_date }})) - unixepoch(strftime('%Y-%m-%d %H:%M:00', {{ first_date }}))) / 60)
{%- elif part == 'second' -%}
(unixepoch(strftime('%Y-%m-%d %H:%M:%S', {{ second_date }})) - unixepoch(strftime('%Y-%m-%d %H:%M:%S', {{ first_date }})))
{%- elif part == 'millisecond' -%}
cast(round((julianday({{ second_date }}) - julianday({{ first_date }})) * 86400000) as integer)
{%- else -%}
{{ sqlite__lens_unsupported("dbt.datediff: datepart '" ~ datepart ~ "' is not supported on SQLite") }}
{%- endif -%}
{%- endmacro -%}

{#- The last day of date's datepart, as a date (dbt casts it to one): week (Sunday, weeks starting on Monday),
    month, quarter, year; day gives the date itself. -#}
{%- macro sqlite__last_day(date, datepart) -%}
{%- set part = sqlite__lens_datepart(datepart) -%}
{%- if part == 'day' -%}
date({{ date }})
{%- elif part == 'week' -%}
date({{ date }}, '-6 days', 'weekday 1', '+6 days')
{%- elif part == 'month' -%}
date({{ date }}, 'start of month', '+1 months', '-1 days')
{%- elif part == 'quarter' -%}
date({{ date }}, 'start of year', ((({{ sqlite__lens_month(date) }}) - 1) / 3 * 3 + 3) || ' months', '-1 days')
{%- elif part == 'year' -%}
date({{ date }}, 'start of year', '+1 years', '-1 days')
{%- else -%}
{{ sqlite__lens_unsupported("dbt.last_day: datepart '" ~ datepart ~ "' is not supported on SQLite") }}
{%- endif -%}
{%- endmacro -%}

{#- The current time, UTC, as a timestamp to the second (Postgres's now() is the session's time zone, in
    microseconds). Like Postgres's, it is the same for every row of a statement. -#}
{%- macro sqlite__current_timestamp() -%}
datetime('now')
{%- endmacro -%}

{#- ---------------------------------------------------------------- types and casts -#}

{#- Type names for SQLite's CAST and column types. SQLite decides what a type does by the letters in its name:
    'timestamp' would turn '2024-01-31 10:00:00' into the number 2024, so timestamps are text, as SQLite keeps them;
    integers are 64-bit whichever name; booleans are the integers 1 and 0. numeric keeps dbt's (28,6), which
    SQLite's own CAST ignores (cast and safe_cast round to it). -#}
{%- macro sqlite__type_string() -%}text{%- endmacro -%}
{%- macro sqlite__type_int() -%}integer{%- endmacro -%}
{%- macro sqlite__type_bigint() -%}bigint{%- endmacro -%}
{%- macro sqlite__type_float() -%}real{%- endmacro -%}
{%- macro sqlite__type_numeric() -%}numeric(28,6){%- endmacro -%}
{%- macro sqlite__type_timestamp() -%}text{%- endmacro -%}
{%- macro sqlite__type_boolean() -%}boolean{%- endmacro -%}

{#- cast(field as type) with Postgres's conversions (sqlite__lens_cast). -#}
{%- macro sqlite__cast(field, type) -%}
{{ sqlite__lens_cast(field, type, false) }}
{%- endmacro -%}

{#- cast, but NULL for a value the type cannot hold (Postgres has no safe cast, and fails instead). -#}
{%- macro sqlite__safe_cast(field, type) -%}
{{ sqlite__lens_cast(field, type, true) }}
{%- endmacro -%}

{#- 'true' or 'false' (NULL for NULL), field read as a boolean (sqlite__lens_truthy): SQLite's 1 and 0, and the
    text 'true' and 'false' a CSV file holds. -#}
{%- macro sqlite__cast_bool_to_text(field) -%}
case {{ sqlite__lens_truthy(field) }} when 1 then 'true' when 0 then 'false' end
{%- endmacro -%}

{#- ---------------------------------------------------------------- aggregates -#}

{#- min(), as dbt's Postgres macro. -#}
{%- macro sqlite__any_value(expression) -%}
min({{ expression }})
{%- endmacro -%}

{#- 1 if any row's expression is true, 0 if none is, NULL if all are NULL; read as sqlite__lens_truthy reads it. -#}
{%- macro sqlite__bool_or(expression) -%}
max({{ sqlite__lens_truthy(expression) }})
{%- endmacro -%}

{#- Postgres's string_agg, with order_by_clause ('order by …') inside the aggregate (SQLite 3.44+). With limit_num,
    as dbt's array_agg(…)[1:limit_num]: the first limit_num values in that order, NULLs counted but left out of the
    text, '' when all of them are NULL. -#}
{%- macro sqlite__listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
{%- set order_by = (' ' ~ order_by_clause) if order_by_clause else '' -%}
{%- if limit_num -%}
case when count(*) > 0 then coalesce((select group_concat(segment_lens_listagg.value, {{ delimiter_text }} order by segment_lens_listagg.key) from json_each(json_group_array({{ measure }}{{ order_by }})) as segment_lens_listagg where segment_lens_listagg.key < {{ limit_num }}), '') end
{%- else -%}
group_concat({{ measure }}, {{ delimiter_text }}{{ order_by }})
{%- endif -%}
{%- endmacro -%}

{#- ---------------------------------------------------------------- strings -#}

{#- fields joined with ||: NULL if any is NULL, as dbt's Postgres macro. -#}
{%- macro sqlite__concat(fields) -%}
{{ fields | join(' || ') }}
{%- endmacro -%}

{#- md5 of the value as text, 32 lowercase hex digits. -#}
{%- macro sqlite__hash(field) -%}
md5(cast({{ field }} as text))
{%- endmacro -%}

{#- Postgres 14's split_part: 1-based, negative part_number counting from the end, '' past either end, an error for 0.
    dbt's own negative-part macro counts delimiter characters, not delimiters, so it differs from this (Postgres's)
    only for delimiters longer than one character. -#}
{%- macro sqlite__split_part(string_text, delimiter_text, part_number) -%}
segment_lens_split_part(cast({{ string_text }} as text), cast({{ delimiter_text }} as text), {{ part_number }})
{%- endmacro -%}

{%- macro sqlite__replace(field, old_chars, new_chars) -%}
replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro -%}

{#- Postgres's right(): the last length_expression characters; a negative length drops that many from the start. -#}
{%- macro sqlite__right(string_text, length_expression) -%}
case when ({{ length_expression }}) < 0 then substr({{ string_text }}, 1 - ({{ length_expression }})) else substr({{ string_text }}, -({{ length_expression }}), {{ length_expression }}) end
{%- endmacro -%}

{#- In characters (code points), as Postgres counts them in UTF-8. -#}
{%- macro sqlite__length(expression) -%}
length({{ expression }})
{%- endmacro -%}

{#- 1-based character position of the first occurrence, 0 if none, 1 for ''. -#}
{%- macro sqlite__position(substring_text, string_text) -%}
instr({{ string_text }}, {{ substring_text }})
{%- endmacro -%}

{#- Doubles each ', for text put between quotes (at render time). -#}
{%- macro sqlite__escape_single_quotes(expression) -%}
{{ expression | replace("'", "''") }}
{%- endmacro -%}

{#- The value between single quotes, as dbt's macro: not escaped (escape_single_quotes does that). -#}
{%- macro sqlite__string_literal(value) -%}
'{{ value }}'
{%- endmacro -%}

{#- ---------------------------------------------------------------- set operators -#}

{%- macro sqlite__except() -%}
except
{%- endmacro -%}

{%- macro sqlite__intersect() -%}
intersect
{%- endmacro %}`.trimStart();

/**
 * dbt's own implementations of the same macros, for a PostgreSQL target: dbt-adapters' `default__<name>` (the global
 * project) and dbt-postgres's `postgres__<name>` overrides, so a model compiles as dbt-postgres compiles it (the SQL
 * runs on the server, or in sql.js when it has nothing PostgreSQL-only). With a SQLite target `sqlite__<name>` comes
 * first and these are not reached. Each renders dbt's SQL on one line (dbt's own layout differs only in whitespace).
 * dbt compares dateparts as written (`'Day'` is not `'day'`), and so do these.
 */
export const DEFAULT_AND_POSTGRES_CROSS_DB_MACROS: string = String.raw`
{#- ---------------------------------------------------------------- dates -#}

{%- macro default__date_trunc(datepart, date) -%}
date_trunc('{{ datepart }}', {{ date }})
{%- endmacro -%}

{%- macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro -%}

{%- macro postgres__dateadd(datepart, interval, from_date_or_timestamp) -%}
{{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
{%- endmacro -%}

{%- macro default__datediff(first_date, second_date, datepart) -%}
datediff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro -%}

{#- Years, quarters and months from their numbers, days between the dates, shorter parts from the day count down;
    weeks from days, corrected by the weekday. -#}
{%- macro postgres__datediff(first_date, second_date, datepart) -%}
{%- if datepart == 'year' -%}
(date_part('year', ({{ second_date }})::date) - date_part('year', ({{ first_date }})::date))
{%- elif datepart == 'quarter' -%}
({{ datediff(first_date, second_date, 'year') }} * 4 + date_part('quarter', ({{ second_date }})::date) - date_part('quarter', ({{ first_date }})::date))
{%- elif datepart == 'month' -%}
({{ datediff(first_date, second_date, 'year') }} * 12 + date_part('month', ({{ second_date }})::date) - date_part('month', ({{ first_date }})::date))
{%- elif datepart == 'day' -%}
(({{ second_date }})::date - ({{ first_date }})::date)
{%- elif datepart == 'week' -%}
({{ datediff(first_date, second_date, 'day') }} / 7 + case when date_part('dow', ({{ first_date }})::timestamp) <= date_part('dow', ({{ second_date }})::timestamp) then case when {{ first_date }} <= {{ second_date }} then 0 else -1 end else case when {{ first_date }} <= {{ second_date }} then 1 else 0 end end)
{%- elif datepart == 'hour' -%}
({{ datediff(first_date, second_date, 'day') }} * 24 + date_part('hour', ({{ second_date }})::timestamp) - date_part('hour', ({{ first_date }})::timestamp))
{%- elif datepart == 'minute' -%}
({{ datediff(first_date, second_date, 'hour') }} * 60 + date_part('minute', ({{ second_date }})::timestamp) - date_part('minute', ({{ first_date }})::timestamp))
{%- elif datepart == 'second' -%}
({{ datediff(first_date, second_date, 'minute') }} * 60 + floor(date_part('second', ({{ second_date }})::timestamp)) - floor(date_part('second', ({{ first_date }})::timestamp)))
{%- elif datepart == 'millisecond' -%}
({{ datediff(first_date, second_date, 'minute') }} * 60000 + floor(date_part('millisecond', ({{ second_date }})::timestamp)) - floor(date_part('millisecond', ({{ first_date }})::timestamp)))
{%- elif datepart == 'microsecond' -%}
({{ datediff(first_date, second_date, 'minute') }} * 60000000 + floor(date_part('microsecond', ({{ second_date }})::timestamp)) - floor(date_part('microsecond', ({{ first_date }})::timestamp)))
{%- else -%}
{{ exceptions.raise_compiler_error("Unsupported datepart for macro datediff in postgres: '" ~ datepart ~ "'") }}
{%- endif -%}
{%- endmacro -%}

{%- macro default_last_day(date, datepart) -%}
cast({{ dbt.dateadd('day', '-1', dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))) }} as date)
{%- endmacro -%}

{%- macro default__last_day(date, datepart) -%}
{{ dbt.default_last_day(date, datepart) }}
{%- endmacro -%}

{#- PostgreSQL has no quarter interval: three months. -#}
{%- macro postgres__last_day(date, datepart) -%}
{%- if datepart == 'quarter' -%}
cast({{ dbt.dateadd('day', '-1', dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))) }} as date)
{%- else -%}
{{ dbt.default_last_day(date, datepart) }}
{%- endif -%}
{%- endmacro -%}

{%- macro default__current_timestamp() -%}
{{ exceptions.raise_compiler_error("current_timestamp macro not implemented for adapter " ~ target.type) }}
{%- endmacro -%}

{%- macro postgres__current_timestamp() -%}
now()
{%- endmacro -%}

{#- ---------------------------------------------------------------- types and casts -#}

{%- macro default__type_string() -%}{{ return(api.Column.translate_type("string")) }}{%- endmacro -%}
{%- macro default__type_int() -%}{{ return(api.Column.translate_type("integer")) }}{%- endmacro -%}
{%- macro default__type_bigint() -%}{{ return(api.Column.translate_type("bigint")) }}{%- endmacro -%}
{%- macro default__type_float() -%}{{ return(api.Column.translate_type("float")) }}{%- endmacro -%}
{%- macro default__type_numeric() -%}{{ return(api.Column.numeric_type("numeric", 28, 6)) }}{%- endmacro -%}
{%- macro default__type_timestamp() -%}{{ return(api.Column.translate_type("timestamp")) }}{%- endmacro -%}
{%- macro default__type_boolean() -%}{{ return(api.Column.translate_type("boolean")) }}{%- endmacro -%}

{%- macro default__cast(field, type) -%}
cast({{ field }} as {{ type }})
{%- endmacro -%}

{#- Most databases have no safe cast: a plain cast, as dbt's. -#}
{%- macro default__safe_cast(field, type) -%}
cast({{ field }} as {{ type }})
{%- endmacro -%}

{%- macro default__cast_bool_to_text(field) -%}
cast({{ field }} as {{ api.Column.translate_type('string') }})
{%- endmacro -%}

{#- ---------------------------------------------------------------- aggregates -#}

{%- macro default__any_value(expression) -%}
any_value({{ expression }})
{%- endmacro -%}

{#- PostgreSQL before 16 has no any_value. -#}
{%- macro postgres__any_value(expression) -%}
min({{ expression }})
{%- endmacro -%}

{%- macro default__bool_or(expression) -%}
bool_or({{ expression }})
{%- endmacro -%}

{%- macro postgres__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
{%- if limit_num -%}
array_to_string((array_agg({{ measure }}{% if order_by_clause %} {{ order_by_clause }}{% endif %}))[1:{{ limit_num }}], {{ delimiter_text }})
{%- else -%}
string_agg({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
{%- endif -%}
{%- endmacro -%}

{#- ---------------------------------------------------------------- strings -#}

{%- macro default__concat(fields) -%}
{{ fields | join(' || ') }}
{%- endmacro -%}

{%- macro default__hash(field) -%}
md5(cast({{ field }} as {{ api.Column.translate_type('string') }}))
{%- endmacro -%}

{%- macro default__split_part(string_text, delimiter_text, part_number) -%}
split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro -%}

{#- A negative part counted from the end, by the number of delimiter characters (PostgreSQL before 14). -#}
{%- macro _split_part_negative(string_text, delimiter_text, part_number) -%}
split_part({{ string_text }}, {{ delimiter_text }}, length({{ string_text }}) - length(replace({{ string_text }}, {{ delimiter_text }}, '')) + 2 + {{ part_number }})
{%- endmacro -%}

{%- macro postgres__split_part(string_text, delimiter_text, part_number) -%}
{%- if part_number >= 0 -%}
{{ dbt.default__split_part(string_text, delimiter_text, part_number) }}
{%- else -%}
{{ dbt._split_part_negative(string_text, delimiter_text, part_number) }}
{%- endif -%}
{%- endmacro -%}

{%- macro default__replace(field, old_chars, new_chars) -%}
replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro -%}

{%- macro default__right(string_text, length_expression) -%}
right({{ string_text }}, {{ length_expression }})
{%- endmacro -%}

{%- macro default__length(expression) -%}
length({{ expression }})
{%- endmacro -%}

{%- macro default__position(substring_text, string_text) -%}
position({{ substring_text }} in {{ string_text }})
{%- endmacro -%}

{%- macro default__escape_single_quotes(expression) -%}
{{ expression | replace("'", "''") }}
{%- endmacro -%}

{%- macro default__string_literal(value) -%}
'{{ value }}'
{%- endmacro -%}

{#- ---------------------------------------------------------------- set operators -#}

{%- macro default__except() -%}
except
{%- endmacro -%}

{%- macro default__intersect() -%}
intersect
{%- endmacro %}`.trimStart();
