# The project's Airflow image: the official image plus this package's pinned requirements and the deployment
# secrets script (run by the compose airflow-secrets and airflow-init services).
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt constraints.txt /opt/ocw/
RUN pip install --no-cache-dir -r /opt/ocw/requirements.txt -c /opt/ocw/constraints.txt
COPY scripts/deploy_secrets.py /opt/ocw/scripts/deploy_secrets.py
# The package's metadata registers its connection types and their UI forms with Airflow (provider entry point);
# the code itself runs from the mounted plugins/ and include/, which come first on PYTHONPATH.
COPY --chown=airflow:0 pyproject.toml /opt/ocw/src/
COPY --chown=airflow:0 plugins /opt/ocw/src/plugins
COPY --chown=airflow:0 include /opt/ocw/src/include
RUN pip install --no-cache-dir --no-deps /opt/ocw/src
