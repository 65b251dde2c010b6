"""Telling operators when a run fails, runs late, or leaves something that needs a person.

- :mod:`.messages`: the mails' content (plain functions; secrets masked; links to the task log and Archive pages);
- :mod:`.sending`: recipients from ``ALERT_EMAIL_RECIPIENTS``, mail through ``smtp_default``, the optional webhook;
- :mod:`.notifier`: the failure notifier every task gets from :func:`ocw_operators.dag_defaults.task_defaults`;
- :mod:`.deadlines`: each scheduled DAG's ``DeadlineAlert`` and the callback the triggerer runs when one is missed;
- :mod:`.attention`: the conditions the daily ``archive_attention`` digest lists (queries on the archive DB).
"""
