"""What people and scripts see: consoles, tables, previews, reports and progress. Nothing here
decides anything: it shows what the library returned."""
