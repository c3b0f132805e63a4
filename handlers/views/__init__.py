"""Pure views: a use case's outcome and a language in, text and a keyboard (or chart input) out.

Nothing here talks to Telegram or the database: views import `telegram` only for the types of
keyboards, never `telegram.ext`.
"""
