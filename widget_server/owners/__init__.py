"""What site owners configure: widgets and their texts and look, API keys and the
Kazoo-shaped documents, retention of their callers' data.
"""
