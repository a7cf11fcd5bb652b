"""The LitServe service: HTTP routes, pydantic schemas and one LitAPI worker; only wiring.

``python serve.py`` -> :func:`wardrobe.serving.app.run_server`. The HTTP processes validate and
authorise requests (``routes/`` one module per resource, ``parsing.py``, ``schemas.py``,
``auth.py``) and queue them for the worker (``apis.py``; the queue is LitServe's, reached only
through ``litserve_seam.py``), which owns the models and the stores and calls the ingestion and
recommendation libraries (``service.py``). ``errors.py`` maps every failure to one HTTP status
and JSON body.
"""
