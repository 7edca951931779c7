"""Similar past incidents: when one is declared, the resolved ones most like it.

``score`` ranks (pure), ``plan`` turns the picks into the room's message, ``store`` is what it
needs from storage, ``worker`` runs the due jobs that ``jobs`` records at declaration.
"""
