"""The helpdesk (DESIGN §10, seed 002 «Поддержка»): tickets and their
threads (tickets), files (attachments), ticket classes (classes) and the
knowledge base (knowledge).  No Flask here: the actor is passed in."""
