# The project's Airflow image: the official image plus this package's pinned requirements and the deployment
# secrets script (run by the compose airflow-secrets and airflow-init services).
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt constraints.txt /opt/ocw/
RUN pip install --no-cache-dir -r /opt/ocw/requirements.txt -c /opt/ocw/constraints.txt
COPY scripts/deploy_secrets.py /opt/ocw/scripts/deploy_secrets.py
