"""The networks: one wrapper per model (model.InferenceModel: built cheaply, loaded once on first
use, ``predict`` for the answer), the one letterbox and tensor format (preprocess), the one NMS and
gender decision (postprocess), and the store of verified ONNX Runtime sessions (store, session,
manifest). Never imports companion.pipeline."""
