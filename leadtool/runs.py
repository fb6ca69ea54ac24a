"""A command's writing step as one library call: the output and its audit log (and, for convert,
the customers file), published together as one transaction (io.publish). The CLI and the
library's users call the same thing."""

from __future__ import annotations

from .audit.events import now_utc
from .audit.log import seal, write_convert_log, write_merge_log
from .convert import ConvertPlan, apply_convert
from .customers import Customers, customers_output, output_format
from .io import write, write_run
from .io.files import refuse_overwrite
from .merge import MergePlan, merge_query
from .records import Records


def write_merge(records: Records, plan: MergePlan, output: str, audit: str) -> None:
    """The merged records to `output` and the merge events to `audit`."""
    refuse_overwrite([("-o", output), ("--audit", audit)], [("FILE", s.path) for s in records.sources])
    at = now_utc()
    write_run(lambda: records.with_frame(merge_query(records, plan)), output, audit,
              lambda path: write_merge_log(path, records, plan, output, at), seal)


def write_convert(records: Records, plan: ConvertPlan, output: str, audit: str, *,
                  customers: Customers | None = None, customers_out: str | None = None) -> Records:
    """The converted records to `output`, the events to `audit` and, given `customers_out`, the
    existing and created customers; returns the converted records. The audit's `at` is the
    wall clock: `plan.now` (--now) only sets `date_conversion`."""
    refuse_overwrite([("-o", output), ("--audit", audit), ("--customers-out", customers_out)],
                     [("FILE", s.path) for s in records.sources])
    at = now_utc()
    others = []
    if customers_out:
        others.append((customers_out, lambda path: write(
            customers_output(customers, plan.customers.created), path,
            output_format(customers_out, customers, records.sources[0].fmt))))
    return write_run(lambda: apply_convert(records, plan), output, audit,
                     lambda path: write_convert_log(path, records, plan, output, at), seal, others)
