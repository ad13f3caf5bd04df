"""The ground floor: settings, storage, models, statuses, tokens, signing, clock, logs,
metrics, egress, languages and the exception tree. Imports nothing else of the package.
"""
