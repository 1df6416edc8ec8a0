"""Meetings: Meeting Guide and BMLT feeds imported into `Meeting` rows (`importer`), read by
`feed` and judged record by record (`records`)."""
