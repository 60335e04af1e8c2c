#!/usr/bin/python3
"""make_db_fixture.py - the reference for examples/ocr_db.c: PaddleOCR's
DBPostProcess (box_type "quad", score_mode "fast", thresh 0.3, box_thresh 0.6,
unclip_ratio 1.5, min_size 3, max_candidates 1000) and predict_det's
filter_tag_det_res and sorted_boxes, written here as PaddleOCR 2.7 writes them
(ppocr/postprocess/db_postprocess.py, tools/infer/predict_det.py,
predict_system.py) with OpenCV (Debian's python3-opencv) and pyclipper
(python3-pyclipper); shapely's Polygon area and length by hand.

It draws a probability map of text-like regions (bars with ragged edges and
soft borders, a faint one, a one-pixel one, two lines side by side within 10
pixels of height), runs the post-processing for an image of a size that is
not a whole multiple of the map's, and writes tests/fixtures/ocr/db_boxes.txt:

    map H W image H W
    H*W values
    boxes N
    x0 y0 x1 y1 score      (per box, PaddleOCR's order; the quad's corners)

Run: /usr/bin/python3 tests/ocr/make_db_fixture.py
"""
import os

import cv2
import numpy as np
import pyclipper

THRESH, BOX_THRESH, UNCLIP, MIN_SIZE = 0.3, 0.6, 1.5, 3


def get_mini_boxes(contour):
    bounding_box = cv2.minAreaRect(contour)
    points = sorted(list(cv2.boxPoints(bounding_box)), key=lambda x: x[0])
    if points[1][1] > points[0][1]:
        i1, i4 = 0, 1
    else:
        i1, i4 = 1, 0
    if points[3][1] > points[2][1]:
        i2, i3 = 2, 3
    else:
        i2, i3 = 3, 2
    return [points[i1], points[i2], points[i3], points[i4]], min(bounding_box[1])


def box_score_fast(bitmap, _box):
    h, w = bitmap.shape[:2]
    box = _box.copy()
    xmin = np.clip(np.floor(box[:, 0].min()).astype("int32"), 0, w - 1)
    xmax = np.clip(np.ceil(box[:, 0].max()).astype("int32"), 0, w - 1)
    ymin = np.clip(np.floor(box[:, 1].min()).astype("int32"), 0, h - 1)
    ymax = np.clip(np.ceil(box[:, 1].max()).astype("int32"), 0, h - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    box[:, 0] = box[:, 0] - xmin
    box[:, 1] = box[:, 1] - ymin
    cv2.fillPoly(mask, box.reshape(1, -1, 2).astype("int32"), 1)
    return cv2.mean(bitmap[ymin:ymax + 1, xmin:xmax + 1], mask)[0]


def unclip(box):
    p = np.asarray(box, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    length = np.sum(np.hypot(x - np.roll(x, 1), y - np.roll(y, 1)))
    distance = area * UNCLIP / length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(distance))


def boxes_from_bitmap(pred, bitmap, dest_width, dest_height):
    height, width = bitmap.shape
    contours, _ = cv2.findContours((bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for contour in contours[:1000]:
        points, sside = get_mini_boxes(contour)
        if sside < MIN_SIZE:
            continue
        points = np.array(points)
        score = box_score_fast(pred, points.reshape(-1, 2))
        if BOX_THRESH > score:
            continue
        box = unclip(points).reshape(-1, 1, 2)
        box, sside = get_mini_boxes(box)
        if sside < MIN_SIZE + 2:
            continue
        box = np.array(box)
        box[:, 0] = np.clip(np.round(box[:, 0] / width * dest_width), 0, dest_width)
        box[:, 1] = np.clip(np.round(box[:, 1] / height * dest_height), 0, dest_height)
        boxes.append(box.astype("int32"))
        scores.append(score)
    return boxes, scores


def order_points_clockwise(pts):
    rect = np.zeros((4, 2), dtype="float32")
    s = pts.sum(axis=1)
    rect[0] = pts[np.argmin(s)]
    rect[2] = pts[np.argmax(s)]
    tmp = np.delete(pts, (np.argmin(s), np.argmax(s)), axis=0)
    diff = np.diff(np.array(tmp), axis=1)
    rect[1] = tmp[np.argmin(diff)]
    rect[3] = tmp[np.argmax(diff)]
    return rect


def filter_tag_det_res(dt_boxes, scores, img_height, img_width):
    out = []
    for box, score in zip(dt_boxes, scores):
        box = order_points_clockwise(box)
        box[:, 0] = np.clip(box[:, 0], 0, img_width - 1)
        box[:, 1] = np.clip(box[:, 1], 0, img_height - 1)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        out.append((box, score))
    return out


def sorted_boxes(items):
    items = sorted(items, key=lambda b: (b[0][0][1], b[0][0][0]))
    for i in range(len(items) - 1):
        for j in range(i, -1, -1):
            if abs(items[j + 1][0][0][1] - items[j][0][0][1]) < 10 and items[j + 1][0][0][0] < items[j][0][0][0]:
                items[j], items[j + 1] = items[j + 1], items[j]
            else:
                break
    return items


def draw_map(h, w, rng):
    m = np.zeros((h, w), np.float32)

    def bar(x0, y0, x1, y1, level):
        m[y0:y1 + 1, x0:x1 + 1] = np.maximum(m[y0:y1 + 1, x0:x1 + 1], level)
        m[y0 - 1, x0:x1 + 1] = np.maximum(m[y0 - 1, x0:x1 + 1], 0.25)  # soft border, below thresh
        for x in range(x0, x1 + 1, 3):  # ragged top and bottom edges
            if rng.random() < 0.4:
                m[y0, x] = 0.1
            if rng.random() < 0.4:
                m[y1, x] = 0.2

    bar(6, 9, 70, 19, 0.9)      # a line
    bar(80, 6, 112, 16, 0.8)    # to its right, 3 pixels higher: still read after it (sorted_boxes)
    bar(6, 34, 100, 47, 0.75)   # second row
    bar(20, 56, 60, 64, 0.45)   # faint: below box_thresh
    m[60:66, 90] = 0.95         # one pixel wide: below min_size
    m[30:41, 110:113] = 0.9     # 3 x 11: min_size passes, the unclipped side too
    m += rng.uniform(0.0, 0.02, m.shape).astype(np.float32)
    return np.clip(m, 0, 1)


def main():
    rng = np.random.default_rng(22)
    h, w, img_h, img_w = 72, 120, 151, 250
    pred = draw_map(h, w, rng)
    boxes, scores = boxes_from_bitmap(pred, (pred > THRESH).astype(np.uint8), img_w, img_h)
    items = sorted_boxes(filter_tag_det_res(boxes, scores, img_h, img_w))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ocr", "db_boxes.txt")
    with open(path, "w") as f:
        f.write(f"map {h} {w} image {img_h} {img_w}\n")
        for row in pred:
            f.write(" ".join(f"{v:.7g}" for v in row) + "\n")
        f.write(f"boxes {len(items)}\n")
        for box, score in items:
            f.write(f"{int(box[0][0])} {int(box[0][1])} {int(box[2][0])} {int(box[2][1])} {score:.7g}\n")
    for box, score in items:
        print(box.astype(int).tolist(), round(score, 4))


if __name__ == "__main__":
    main()
