"""Telling site owners what happened: signed webhooks and emails, queued after commit.
"""
