"""A child's identifiable data as CSV files: the family's download, the site export for clinical
audit and the import of historical data all read and write the tables of `tables.py`."""
