"""Stage 1 of a callback: a visitor's submission, checked (origin, limits, number policy,
token, human checks, block list) and stored, or refused.
"""
