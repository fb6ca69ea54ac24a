"""leadtool: clean CRM lead and opportunity exports (Odoo's lead conversion and duplicate
merging, in batch over plain files)."""

__version__ = "0.1.0"
