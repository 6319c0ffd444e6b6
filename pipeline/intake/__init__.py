"""Files → records: readers, header mapping, minutes splitting, normalisation, quarantine."""
