"""What we know about each converted model beyond what its graph says: how to feed it and what
comes out (the manifests' inputs, outputs and labels), and the COCO-80 label names.
"""

from __future__ import annotations

# The input of the TF.js models that take float RGB pixels as they are (0..255, NHWC).
RAW_FLOAT_PIXELS = {"layout": "NHWC", "dtype": "float32", "range": [0, 255], "colour": "RGB"}

# What we know about each model beyond what the graph says: how to feed it and what comes out.
SPECS: dict[str, dict] = {
    "movenet-multipose": {
        "task": "people-keypoints",
        "upstream": "Google MoveNet MultiPose Lightning (TF Hub movenet/multipose/lightning)",
        "licence": "Apache-2.0 (model) / MIT (package)",
        "input": {
            "layout": "NHWC",
            "dtype": "int32",
            "range": [0, 255],
            "colour": "RGB",
            "normalisation": "none: raw 0..255 pixel values",
            "size_note": "square; pad the image to a square, 256 by default, multiples of 32 work",
        },
        "dynamic_input": [1, "height", "width", 3],
        "outputs": {
            "Identity:0": "[1,6,56]: up to 6 people; 17 keypoints x (y, x, score) normalised "
            "to the padded square, then (ymin, xmin, ymax, xmax, score)",
        },
        "labels": [
            "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        ],
    },
    "blazeface": {
        "task": "face-detection",
        "upstream": "Google MediaPipe BlazeFace (back camera, 256)",
        "licence": "Apache-2.0 (model) / MIT (package)",
        "input": {
            "layout": "NHWC",
            "dtype": "float32",
            "range": [-1, 1],
            "colour": "RGB",
            "normalisation": "pixel / 127.5 - 1",
            "size_note": "256x256, letterboxed",
        },
        "outputs": {
            "Identity_3:0": "[1,384,16] box regressors for the 384 anchors of the 16x16 grid",
            "Identity_1:0": "[1,384,1] logits for the 384 anchors of the 16x16 grid",
            "Identity:0": "[1,512,1] logits for the 512 anchors of the 32x32 grid",
            "Identity_2:0": "[1,512,16] box regressors for the 512 anchors of the 32x32 grid",
        },
        "labels": ["face"],
    },
    "faceres": {
        "task": "face-gender",
        "upstream": "HSE FaceRes (age, gender, descriptor) as packaged by @vladmandic/human",
        "licence": "MIT (package)",
        "input": {
            **RAW_FLOAT_PIXELS,
            "colour": "BGR",
            "normalisation": "BGR pixel values (0..255) minus the ImageNet mean, as Keras "
            "'caffe' inputs (extra.channel_order, extra.channel_mean); fed RGB it answers worse",
            "size_note": "224x224 face crop with some margin",
        },
        # How FaceRes was trained to be fed (companion.inference.faceres reads them).
        "extra": {"channel_order": "BGR", "channel_mean": [103.939, 116.779, 123.68]},
        "dynamic_batch": True,
        "outputs": {
            "gender_pred/Sigmoid:0": "[N,1] probability that the face is male (> 0.5 = male)",
            "age_pred/Softmax:0": "[N,100] age distribution (unused)",
            "global_pooling/Mean": "[N,1024] face descriptor (unused)",
        },
        "labels": ["female", "male"],
    },
    "centernet": {
        "task": "object-detection",
        "upstream": "CenterNet MobileNetV3 COCO-80 as packaged by @vladmandic/human",
        "licence": "MIT (package)",
        "input": {
            **RAW_FLOAT_PIXELS,
            "normalisation": "none: raw 0..255 pixel values",
            "size_note": "512x512, letterboxed",
        },
        "outputs": {
            "tower_0/detections": "[1,100,6]: (xmin, ymin, xmax, ymax, score, class) in input "
            "pixels; overlapping boxes remain, apply NMS",
            "tower_0/keypoints": "[1,128,128,80] class heatmaps (unused)",
            "tower_0/wh": "[1,128,128,4] box sizes (unused)",
        },
        "labels": "coco80",
    },
    "nanodet-embedder": {
        "source": "nanodet",
        "task": "image-embedding",
        "upstream": "NanoDet (COCO) backbone, cut after its last backbone stage and globally "
        "average-pooled; a stop-gap image embedding",
        "licence": "Apache-2.0 (model) / MIT (package)",
        "input": {
            "layout": "NCHW",
            "dtype": "float32",
            "range": [0, 1],
            "colour": "RGB",
            "normalisation": "pixel / 255",
            "size_note": "any square size that is a multiple of 32; 224 is used",
        },
        "dynamic_batch": True,
        "outputs": {"embedding": "[N,D] pooled backbone features (L2-normalise before search)"},
        "labels": [],
    },
}

COCO80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic_light", "fire_hydrant", "stop_sign", "parking_meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports_ball",
    "kite", "baseball_bat", "baseball_glove", "skateboard", "surfboard", "tennis_racket",
    "bottle", "wine_glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot_dog", "pizza", "donut", "cake",
    "chair", "couch", "potted_plant", "bed", "dining_table", "toilet", "tv", "laptop",
    "mouse", "remote", "keyboard", "cell_phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy_bear", "hair_drier",
    "toothbrush",
]
