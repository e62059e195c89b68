"""The AOI file: read and written as AOI_SPEC.md says, atomically with a backup; malformed files
are one line naming the file and the AOI; Tobii Pro Lab's AOI export imported."""
import json

import pytest

from salfom_core.aoi import AoiError, AoiSet, Keyframe, aoi_path, backup_path, read_aois, write_aois

SPEC_EXAMPLE = {"version": 1, "video": "0002.avi",
                "aois": [{"name": "fly", "color": "#e41a1c", "shape": "rect",
                          "keyframes": [{"frame": 1, "active": True, "vertices": [[265, 150], [350, 220]]},
                                        {"frame": 300, "active": True, "vertices": [[275, 120], [350, 205]]}]}]}


def write(path, data):
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_the_spec_example_reads_and_round_trips(tmp_path):
    path = write(tmp_path / "0002.aois.json", SPEC_EXAMPLE)
    aois = read_aois(path, n_frames=783)
    fly = aois.get("fly")
    assert aois.video == "0002.avi" and fly.shape == "rect" and fly.color == "#e41a1c"
    assert fly.keyframes[1] == Keyframe(300, True, ((275, 120), (350, 205)))
    out = write_aois(tmp_path / "copy.aois.json", aois)
    assert json.loads(out.read_text()) == SPEC_EXAMPLE
    assert read_aois(out).snapshot() == aois.snapshot()
    assert aoi_path(tmp_path / "0002.avi") == tmp_path / "0002.aois.json"


def test_saving_keeps_the_previous_file_as_a_backup(tmp_path):
    path = write(tmp_path / "v.aois.json", SPEC_EXAMPLE)
    first_text = path.read_text()
    aois = read_aois(path)
    aois.get("fly").move(400, 5, 0)
    write_aois(path, aois)
    assert backup_path(path).read_text() == first_text
    assert [k.frame for k in read_aois(path).get("fly").keyframes] == [1, 300, 400]
    second_text = path.read_text()
    aois.rename("fly", "insect")
    write_aois(path, aois)
    assert backup_path(path).read_text() == second_text and read_aois(path).names == ["insect"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.aois.json", "v.aois.json.bak"]   # no temporaries left


def test_a_set_that_cannot_be_written_leaves_both_files_as_they_were(tmp_path):
    path = write_aois(tmp_path / "v.aois.json", read_aois(write(tmp_path / "in.json", SPEC_EXAMPLE)))
    write_aois(path, read_aois(path))            # a save that changes nothing: no backup needed
    assert not backup_path(path).exists()
    before = path.read_text()
    broken = read_aois(path)
    broken.get("fly").keyframes.append(Keyframe(301, True, ((1, 1),)))    # bypasses the edit checks
    with pytest.raises(AoiError, match="'fly'"):
        write_aois(path, broken)
    assert path.read_text() == before and not backup_path(path).exists()


def aoi_with(**changes):
    item = json.loads(json.dumps(SPEC_EXAMPLE["aois"][0]))
    item.update(changes)
    return {"version": 1, "video": "0002.avi", "aois": [item]}


@pytest.mark.parametrize("content, message", [
    ('{"version": 1, "aois": [', r"not valid JSON \(line 1, column 25"),
    (aoi_with(shape="circle"), r"AOI 'fly': unknown shape 'circle'"),
    (aoi_with(shape="polygon", keyframes=[{"frame": 1, "vertices": [[0, 0], [5, 5]]}]),
     r"AOI 'fly': keyframe at frame 1: too few vertices for a polygon: 2"),
    (aoi_with(keyframes=[{"frame": 1, "vertices": [[0, 0], [5, 5]]}, {"frame": 900, "vertices": [[0, 0], [5, 5]]}]),
     r"AOI 'fly': keyframe at frame 900 is outside the video's 783 frames"),
    (aoi_with(shape="polygon", keyframes=[{"frame": 1, "vertices": [[0, 0], [5, 0], [0, 5]]},
                                          {"frame": 9, "vertices": [[0, 0], [5, 0], [5, 5], [0, 5]]}]),
     r"AOI 'fly': the vertex count changes between keyframes \(3 at frame 1, 4 at frame 9\)"),
    (aoi_with(keyframes=[{"frame": 0, "vertices": [[0, 0], [5, 5]]}]), r"AOI 'fly': keyframe frame 0 is not"),
    (aoi_with(keyframes=[{"frame": 2, "vertices": [[0, "a"], [5, 5]]}]), r"AOI 'fly': vertices must be"),
    (aoi_with(name=""), r"AOI #1 \(no name\): the name must be"),
    ({"version": 1, "aois": [SPEC_EXAMPLE["aois"][0]] * 2}, r"AOI 'fly': two AOIs have this name"),
    ([1, 2], r"not an AOI file"),
    ({"version": 7, "aois": []}, r"version 7"),
])
def test_malformed_files_are_one_line_naming_the_file_and_the_aoi(tmp_path, content, message):
    path = write(tmp_path / "bad.aois.json", content)
    before = path.read_text()
    with pytest.raises(AoiError, match=message) as info:
        read_aois(path, n_frames=783)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert path.read_text() == before               # reading never touches the file


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(AoiError, match=r"nowhere\.aois\.json: no such AOI file"):
        read_aois(tmp_path / "nowhere.aois.json")


# --------------------------------------------------------------------------- Tobii Pro Lab

TOBII = {
    "Version": 2,
    "Aois": [
        {"Name": "logo", "Color": "FF00FF00", "Tags": [],
         "KeyFrames": [
             {"IsActive": True, "Seconds": 0.0,
              "Vertices": [{"X": 10, "Y": 10}, {"X": 50, "Y": 10}, {"X": 50, "Y": 30}, {"X": 10, "Y": 30}]},
             {"IsActive": True, "Seconds": 1.0,
              "Vertices": [{"X": 40, "Y": 10}, {"X": 80, "Y": 10}, {"X": 80, "Y": 30}, {"X": 40, "Y": 30}]},
             {"IsActive": False, "Seconds": 2.52,
              "Vertices": [{"X": 40, "Y": 10}, {"X": 80, "Y": 10}, {"X": 80, "Y": 30}, {"X": 40, "Y": 30}]}]},
        {"Name": "face", "KeyFrames": [
            {"IsActive": True, "Seconds": 0.5, "Vertices": [{"X": 0, "Y": 0}, {"X": 9, "Y": 0}, {"X": 0, "Y": 9}]}]},
    ]}


def test_tobii_pro_lab_export_is_imported(tmp_path):
    path = write(tmp_path / "tobii_aois.json", TOBII)
    aois = read_aois(path, n_frames=90, fps=30)
    logo, face = aois.get("logo"), aois.get("face")
    # Seconds s -> frame floor(s * 30) + 1: 0.0 -> 1, 1.0 -> 31, 2.52 -> 76 (75.6: floor, not round), 0.5 -> 16
    assert [(k.frame, k.active) for k in logo.keyframes] == [(1, True), (31, True), (76, False)]
    assert logo.shape == face.shape == "polygon" and logo.color == "#00ff00"
    assert face.keyframes[0].frame == 16 and not face.is_active(15)
    # frame 16 is halfway from 1 to 31: moved 15 px of the 30
    assert logo.vertices_at(16) == ((25, 10), (65, 10), (65, 30), (25, 30))
    assert logo.is_active(75) and not logo.is_active(76)
    # it becomes the spec's file
    out = write_aois(tmp_path / "v.aois.json", aois)
    assert read_aois(out, n_frames=90).snapshot() == aois.snapshot()


def test_tobii_export_errors_name_the_file_and_the_aoi(tmp_path):
    path = write(tmp_path / "tobii_aois.json", TOBII)
    with pytest.raises(AoiError, match=r"tobii_aois\.json: a Tobii Pro Lab AOI export: the video's frame rate"):
        read_aois(path)
    with pytest.raises(AoiError, match=r"tobii_aois\.json: AOI 'logo': keyframe at frame 76 is outside the video's 60"):
        read_aois(path, n_frames=60, fps=30)
    bad = json.loads(json.dumps(TOBII))
    bad["Aois"][1]["KeyFrames"].append({"IsActive": True, "Seconds": 1.0, "Vertices": [{"X": 0, "Y": 0}]})
    with pytest.raises(AoiError, match=r"AOI 'face': .*vertex count changes|AOI 'face': keyframe at frame 31: too few"):
        read_aois(write(tmp_path / "bad.json", bad), n_frames=90, fps=30)


def test_an_empty_set_writes_and_reads(tmp_path):
    out = write_aois(tmp_path / "e.aois.json", AoiSet("e.mp4"))
    assert read_aois(out).names == [] and read_aois(out).video == "e.mp4"
