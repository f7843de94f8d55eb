"""rm-advisor: next-best-actions and coaching for customer managers, from YAML rules.

Installed, everything lives under this one name: ``rm_advisor.engine`` (the library: ``from
rm_advisor.engine import Advisor``), ``rm_advisor.api`` (the HTTP API), ``rm_advisor.cli`` (the
``rm-advisor`` command), ``rm_advisor.store`` (the decision log), and the shipped
``rm_advisor.rules`` and ``rm_advisor.knowledge_base``. In the repository these are the top-level
folders; ``rm_advisor/`` links to them.
"""

__version__ = "0.1.0"
