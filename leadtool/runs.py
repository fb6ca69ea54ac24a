"""A command's writing step as one library call: the output and its audit log (and, for convert,
the customers file), published together. The CLI and the library's users call the same thing."""

from __future__ import annotations

from .audit.events import audit_time, now_utc
from .audit.log import write_convert_log, write_merge_log
from .convert import ConvertPlan, apply_convert
from .customers import Customers, customers_output, output_format
from .io import write, write_run
from .merge import MergePlan, merge_query
from .records import Records


def write_merge(records: Records, plan: MergePlan, output: str, audit: str) -> None:
    """The merged records to `output` and the merge events to `audit`."""
    at = now_utc()
    write_run(lambda: records.with_frame(merge_query(records, plan)), output,
              lambda: write_merge_log(audit, records, plan, output, at))


def write_convert(records: Records, plan: ConvertPlan, output: str, audit: str, *,
                  customers: Customers | None = None, customers_out: str | None = None) -> Records:
    """The converted records to `output`, the events to `audit` and, given `customers_out`, the
    existing and created customers; returns the converted records."""
    at = audit_time(plan.now)

    def write_logs() -> None:  # the audit log (and the customers) before the output is replaced
        write_convert_log(audit, records, plan, output, at)
        if customers_out:
            write(customers_output(customers, plan.customers.created), customers_out,
                  output_format(customers_out, customers, records.sources[0].fmt))

    return write_run(lambda: apply_convert(records, plan), output, write_logs)
