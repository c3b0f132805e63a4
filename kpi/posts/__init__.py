"""Scheduled and event posts: the post-kind registry, what each post contains, claims, chat states.

- `registry`: one entry per post kind (when it fires, to whom, which setting turns it on);
- `content`: the data behind each post (no text: `handlers.digests` renders it);
- `claims`: a claim per post, recipient and period, so each post goes out once;
- `chats`: per-chat facts (unreachable chats, the pinned living board, recent report answers).
"""
