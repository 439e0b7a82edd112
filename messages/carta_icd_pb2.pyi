from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMPTY_EVENT: _ClassVar[EventType]
    REGISTER_VIEWER: _ClassVar[EventType]
    FILE_LIST_REQUEST: _ClassVar[EventType]
    FILE_INFO_REQUEST: _ClassVar[EventType]
    OPEN_FILE: _ClassVar[EventType]
    SET_IMAGE_CHANNELS: _ClassVar[EventType]
    SET_CURSOR: _ClassVar[EventType]
    SET_SPATIAL_REQUIREMENTS: _ClassVar[EventType]
    SET_HISTOGRAM_REQUIREMENTS: _ClassVar[EventType]
    SET_STATS_REQUIREMENTS: _ClassVar[EventType]
    SET_REGION: _ClassVar[EventType]
    REMOVE_REGION: _ClassVar[EventType]
    CLOSE_FILE: _ClassVar[EventType]
    SET_SPECTRAL_REQUIREMENTS: _ClassVar[EventType]
    START_ANIMATION: _ClassVar[EventType]
    START_ANIMATION_ACK: _ClassVar[EventType]
    STOP_ANIMATION: _ClassVar[EventType]
    REGISTER_VIEWER_ACK: _ClassVar[EventType]
    FILE_LIST_RESPONSE: _ClassVar[EventType]
    FILE_INFO_RESPONSE: _ClassVar[EventType]
    OPEN_FILE_ACK: _ClassVar[EventType]
    SET_REGION_ACK: _ClassVar[EventType]
    REGION_HISTOGRAM_DATA: _ClassVar[EventType]
    SPATIAL_PROFILE_DATA: _ClassVar[EventType]
    SPECTRAL_PROFILE_DATA: _ClassVar[EventType]
    REGION_STATS_DATA: _ClassVar[EventType]
    ERROR_DATA: _ClassVar[EventType]
    ANIMATION_FLOW_CONTROL: _ClassVar[EventType]
    ADD_REQUIRED_TILES: _ClassVar[EventType]
    REMOVE_REQUIRED_TILES: _ClassVar[EventType]
    RASTER_TILE_DATA: _ClassVar[EventType]
    REGION_LIST_REQUEST: _ClassVar[EventType]
    REGION_LIST_RESPONSE: _ClassVar[EventType]
    REGION_FILE_INFO_REQUEST: _ClassVar[EventType]
    REGION_FILE_INFO_RESPONSE: _ClassVar[EventType]
    IMPORT_REGION: _ClassVar[EventType]
    IMPORT_REGION_ACK: _ClassVar[EventType]
    EXPORT_REGION: _ClassVar[EventType]
    EXPORT_REGION_ACK: _ClassVar[EventType]
    SET_CONTOUR_PARAMETERS: _ClassVar[EventType]
    CONTOUR_IMAGE_DATA: _ClassVar[EventType]
    RESUME_SESSION: _ClassVar[EventType]
    RESUME_SESSION_ACK: _ClassVar[EventType]
    RASTER_TILE_SYNC: _ClassVar[EventType]
    CATALOG_LIST_REQUEST: _ClassVar[EventType]
    CATALOG_LIST_RESPONSE: _ClassVar[EventType]
    CATALOG_FILE_INFO_REQUEST: _ClassVar[EventType]
    CATALOG_FILE_INFO_RESPONSE: _ClassVar[EventType]
    OPEN_CATALOG_FILE: _ClassVar[EventType]
    OPEN_CATALOG_FILE_ACK: _ClassVar[EventType]
    CLOSE_CATALOG_FILE: _ClassVar[EventType]
    CATALOG_FILTER_REQUEST: _ClassVar[EventType]
    CATALOG_FILTER_RESPONSE: _ClassVar[EventType]
    SCRIPTING_REQUEST: _ClassVar[EventType]
    SCRIPTING_RESPONSE: _ClassVar[EventType]
    MOMENT_REQUEST: _ClassVar[EventType]
    MOMENT_RESPONSE: _ClassVar[EventType]
    MOMENT_PROGRESS: _ClassVar[EventType]
    STOP_MOMENT_CALC: _ClassVar[EventType]
    SAVE_FILE: _ClassVar[EventType]
    SAVE_FILE_ACK: _ClassVar[EventType]
    CONCAT_STOKES_FILES: _ClassVar[EventType]
    CONCAT_STOKES_FILES_ACK: _ClassVar[EventType]
    FILE_LIST_PROGRESS: _ClassVar[EventType]
    STOP_FILE_LIST: _ClassVar[EventType]
    PV_REQUEST: _ClassVar[EventType]
    PV_RESPONSE: _ClassVar[EventType]
    PV_PROGRESS: _ClassVar[EventType]
    STOP_PV_CALC: _ClassVar[EventType]
    FITTING_REQUEST: _ClassVar[EventType]
    FITTING_RESPONSE: _ClassVar[EventType]
    SET_VECTOR_OVERLAY_PARAMETERS: _ClassVar[EventType]
    VECTOR_OVERLAY_TILE_DATA: _ClassVar[EventType]
    FITTING_PROGRESS: _ClassVar[EventType]
    STOP_FITTING: _ClassVar[EventType]
    PV_PREVIEW_DATA: _ClassVar[EventType]
    STOP_PV_PREVIEW: _ClassVar[EventType]
    CLOSE_PV_PREVIEW: _ClassVar[EventType]

class SessionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NEW: _ClassVar[SessionType]
    RESUMED: _ClassVar[SessionType]

class FileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CASA: _ClassVar[FileType]
    CRTF: _ClassVar[FileType]
    DS9_REG: _ClassVar[FileType]
    FITS: _ClassVar[FileType]
    HDF5: _ClassVar[FileType]
    MIRIAD: _ClassVar[FileType]
    UNKNOWN: _ClassVar[FileType]

class RenderMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RASTER: _ClassVar[RenderMode]
    CONTOUR: _ClassVar[RenderMode]

class CompressionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[CompressionType]
    ZFP: _ClassVar[CompressionType]
    SZ: _ClassVar[CompressionType]

class RegionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POINT: _ClassVar[RegionType]
    LINE: _ClassVar[RegionType]
    POLYLINE: _ClassVar[RegionType]
    RECTANGLE: _ClassVar[RegionType]
    ELLIPSE: _ClassVar[RegionType]
    ANNULUS: _ClassVar[RegionType]
    POLYGON: _ClassVar[RegionType]
    ANNPOINT: _ClassVar[RegionType]
    ANNLINE: _ClassVar[RegionType]
    ANNPOLYLINE: _ClassVar[RegionType]
    ANNRECTANGLE: _ClassVar[RegionType]
    ANNELLIPSE: _ClassVar[RegionType]
    ANNPOLYGON: _ClassVar[RegionType]
    ANNVECTOR: _ClassVar[RegionType]
    ANNRULER: _ClassVar[RegionType]
    ANNTEXT: _ClassVar[RegionType]
    ANNCOMPASS: _ClassVar[RegionType]

class SmoothingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NoSmoothing: _ClassVar[SmoothingMode]
    BlockAverage: _ClassVar[SmoothingMode]
    GaussianBlur: _ClassVar[SmoothingMode]

class StatsType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NumPixels: _ClassVar[StatsType]
    NanCount: _ClassVar[StatsType]
    Sum: _ClassVar[StatsType]
    FluxDensity: _ClassVar[StatsType]
    Mean: _ClassVar[StatsType]
    RMS: _ClassVar[StatsType]
    Sigma: _ClassVar[StatsType]
    SumSq: _ClassVar[StatsType]
    Min: _ClassVar[StatsType]
    Max: _ClassVar[StatsType]
    Extrema: _ClassVar[StatsType]
    Blc: _ClassVar[StatsType]
    Trc: _ClassVar[StatsType]
    MinPos: _ClassVar[StatsType]
    MaxPos: _ClassVar[StatsType]
    Blcf: _ClassVar[StatsType]
    Trcf: _ClassVar[StatsType]
    MinPosf: _ClassVar[StatsType]
    MaxPosf: _ClassVar[StatsType]

class ErrorSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEBUG: _ClassVar[ErrorSeverity]
    INFO: _ClassVar[ErrorSeverity]
    WARNING: _ClassVar[ErrorSeverity]
    ERROR: _ClassVar[ErrorSeverity]
    CRITICAL: _ClassVar[ErrorSeverity]

class EntryType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STRING: _ClassVar[EntryType]
    FLOAT: _ClassVar[EntryType]
    INT: _ClassVar[EntryType]

class ClientFeatureFlags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLIENT_FEATURE_NONE: _ClassVar[ClientFeatureFlags]
    WEB_GL: _ClassVar[ClientFeatureFlags]
    WEB_GL_2: _ClassVar[ClientFeatureFlags]
    WEB_ASSEMBLY: _ClassVar[ClientFeatureFlags]
    WEB_ASSEMBLY_THREADS: _ClassVar[ClientFeatureFlags]
    OFFSCREEN_CANVAS: _ClassVar[ClientFeatureFlags]

class ServerFeatureFlags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVER_FEATURE_NONE: _ClassVar[ServerFeatureFlags]
    SZ_COMPRESSION: _ClassVar[ServerFeatureFlags]
    HEVC_COMPRESSION: _ClassVar[ServerFeatureFlags]
    NVENC_COMPRESSION: _ClassVar[ServerFeatureFlags]
    READ_ONLY: _ClassVar[ServerFeatureFlags]
    USER_PREFERENCES: _ClassVar[ServerFeatureFlags]
    USER_LAYOUTS: _ClassVar[ServerFeatureFlags]
    SCRIPTING: _ClassVar[ServerFeatureFlags]

class FileFeatureFlags(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_FEATURE_NONE: _ClassVar[FileFeatureFlags]
    ROTATED_DATASET: _ClassVar[FileFeatureFlags]
    CHANNEL_HISTOGRAMS: _ClassVar[FileFeatureFlags]
    CUBE_HISTOGRAMS: _ClassVar[FileFeatureFlags]
    CHANNEL_STATS: _ClassVar[FileFeatureFlags]
    MEAN_IMAGE: _ClassVar[FileFeatureFlags]
    MIP_DATASET: _ClassVar[FileFeatureFlags]

class CoordinateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PIXEL: _ClassVar[CoordinateType]
    WORLD: _ClassVar[CoordinateType]

class CatalogFileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FITSTable: _ClassVar[CatalogFileType]
    VOTable: _ClassVar[CatalogFileType]
    Unknown: _ClassVar[CatalogFileType]

class ColumnType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UnsupportedType: _ClassVar[ColumnType]
    String: _ClassVar[ColumnType]
    Uint8: _ClassVar[ColumnType]
    Int8: _ClassVar[ColumnType]
    Uint16: _ClassVar[ColumnType]
    Int16: _ClassVar[ColumnType]
    Uint32: _ClassVar[ColumnType]
    Int32: _ClassVar[ColumnType]
    Uint64: _ClassVar[ColumnType]
    Int64: _ClassVar[ColumnType]
    Float: _ClassVar[ColumnType]
    Double: _ClassVar[ColumnType]
    Bool: _ClassVar[ColumnType]

class ComparisonOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Equal: _ClassVar[ComparisonOperator]
    NotEqual: _ClassVar[ComparisonOperator]
    Lesser: _ClassVar[ComparisonOperator]
    Greater: _ClassVar[ComparisonOperator]
    LessorOrEqual: _ClassVar[ComparisonOperator]
    GreaterOrEqual: _ClassVar[ComparisonOperator]
    RangeOpen: _ClassVar[ComparisonOperator]
    RangeClosed: _ClassVar[ComparisonOperator]

class SortingType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Ascending: _ClassVar[SortingType]
    Descending: _ClassVar[SortingType]

class Moment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEAN_OF_THE_SPECTRUM: _ClassVar[Moment]
    INTEGRATED_OF_THE_SPECTRUM: _ClassVar[Moment]
    INTENSITY_WEIGHTED_COORD: _ClassVar[Moment]
    INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD: _ClassVar[Moment]
    MEDIAN_OF_THE_SPECTRUM: _ClassVar[Moment]
    MEDIAN_COORDINATE: _ClassVar[Moment]
    STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM: _ClassVar[Moment]
    RMS_OF_THE_SPECTRUM: _ClassVar[Moment]
    ABS_MEAN_DEVIATION_OF_THE_SPECTRUM: _ClassVar[Moment]
    MAX_OF_THE_SPECTRUM: _ClassVar[Moment]
    COORD_OF_THE_MAX_OF_THE_SPECTRUM: _ClassVar[Moment]
    MIN_OF_THE_SPECTRUM: _ClassVar[Moment]
    COORD_OF_THE_MIN_OF_THE_SPECTRUM: _ClassVar[Moment]

class MomentAxis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPECTRAL: _ClassVar[MomentAxis]
    STOKES: _ClassVar[MomentAxis]

class MomentMask(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Include: _ClassVar[MomentMask]
    Exclude: _ClassVar[MomentMask]

class PolarizationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLARIZATION_TYPE_NONE: _ClassVar[PolarizationType]
    I: _ClassVar[PolarizationType]
    Q: _ClassVar[PolarizationType]
    U: _ClassVar[PolarizationType]
    V: _ClassVar[PolarizationType]
    RR: _ClassVar[PolarizationType]
    LL: _ClassVar[PolarizationType]
    RL: _ClassVar[PolarizationType]
    LR: _ClassVar[PolarizationType]
    XX: _ClassVar[PolarizationType]
    YY: _ClassVar[PolarizationType]
    XY: _ClassVar[PolarizationType]
    YX: _ClassVar[PolarizationType]
    Ptotal: _ClassVar[PolarizationType]
    Plinear: _ClassVar[PolarizationType]
    PFtotal: _ClassVar[PolarizationType]
    PFlinear: _ClassVar[PolarizationType]
    Pangle: _ClassVar[PolarizationType]

class FileListType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Image: _ClassVar[FileListType]
    Catalog: _ClassVar[FileListType]

class FileListFilterMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Content: _ClassVar[FileListFilterMode]
    Extension: _ClassVar[FileListFilterMode]
    AllFiles: _ClassVar[FileListFilterMode]

class ProfileAxisType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Offset: _ClassVar[ProfileAxisType]
    Distance: _ClassVar[ProfileAxisType]

class PointAnnotationShape(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SQUARE: _ClassVar[PointAnnotationShape]
    BOX: _ClassVar[PointAnnotationShape]
    CIRCLE: _ClassVar[PointAnnotationShape]
    CIRCLE_LINED: _ClassVar[PointAnnotationShape]
    DIAMOND: _ClassVar[PointAnnotationShape]
    DIAMOND_LINED: _ClassVar[PointAnnotationShape]
    CROSS: _ClassVar[PointAnnotationShape]
    X: _ClassVar[PointAnnotationShape]

class TextAnnotationPosition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CENTER: _ClassVar[TextAnnotationPosition]
    UPPER_LEFT: _ClassVar[TextAnnotationPosition]
    UPPER_RIGHT: _ClassVar[TextAnnotationPosition]
    LOWER_LEFT: _ClassVar[TextAnnotationPosition]
    LOWER_RIGHT: _ClassVar[TextAnnotationPosition]
    TOP: _ClassVar[TextAnnotationPosition]
    BOTTOM: _ClassVar[TextAnnotationPosition]
    LEFT: _ClassVar[TextAnnotationPosition]
    RIGHT: _ClassVar[TextAnnotationPosition]

class FittingSolverType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Qr: _ClassVar[FittingSolverType]
    Cholesky: _ClassVar[FittingSolverType]
    Mcholesky: _ClassVar[FittingSolverType]
    Svd: _ClassVar[FittingSolverType]
EMPTY_EVENT: EventType
REGISTER_VIEWER: EventType
FILE_LIST_REQUEST: EventType
FILE_INFO_REQUEST: EventType
OPEN_FILE: EventType
SET_IMAGE_CHANNELS: EventType
SET_CURSOR: EventType
SET_SPATIAL_REQUIREMENTS: EventType
SET_HISTOGRAM_REQUIREMENTS: EventType
SET_STATS_REQUIREMENTS: EventType
SET_REGION: EventType
REMOVE_REGION: EventType
CLOSE_FILE: EventType
SET_SPECTRAL_REQUIREMENTS: EventType
START_ANIMATION: EventType
START_ANIMATION_ACK: EventType
STOP_ANIMATION: EventType
REGISTER_VIEWER_ACK: EventType
FILE_LIST_RESPONSE: EventType
FILE_INFO_RESPONSE: EventType
OPEN_FILE_ACK: EventType
SET_REGION_ACK: EventType
REGION_HISTOGRAM_DATA: EventType
SPATIAL_PROFILE_DATA: EventType
SPECTRAL_PROFILE_DATA: EventType
REGION_STATS_DATA: EventType
ERROR_DATA: EventType
ANIMATION_FLOW_CONTROL: EventType
ADD_REQUIRED_TILES: EventType
REMOVE_REQUIRED_TILES: EventType
RASTER_TILE_DATA: EventType
REGION_LIST_REQUEST: EventType
REGION_LIST_RESPONSE: EventType
REGION_FILE_INFO_REQUEST: EventType
REGION_FILE_INFO_RESPONSE: EventType
IMPORT_REGION: EventType
IMPORT_REGION_ACK: EventType
EXPORT_REGION: EventType
EXPORT_REGION_ACK: EventType
SET_CONTOUR_PARAMETERS: EventType
CONTOUR_IMAGE_DATA: EventType
RESUME_SESSION: EventType
RESUME_SESSION_ACK: EventType
RASTER_TILE_SYNC: EventType
CATALOG_LIST_REQUEST: EventType
CATALOG_LIST_RESPONSE: EventType
CATALOG_FILE_INFO_REQUEST: EventType
CATALOG_FILE_INFO_RESPONSE: EventType
OPEN_CATALOG_FILE: EventType
OPEN_CATALOG_FILE_ACK: EventType
CLOSE_CATALOG_FILE: EventType
CATALOG_FILTER_REQUEST: EventType
CATALOG_FILTER_RESPONSE: EventType
SCRIPTING_REQUEST: EventType
SCRIPTING_RESPONSE: EventType
MOMENT_REQUEST: EventType
MOMENT_RESPONSE: EventType
MOMENT_PROGRESS: EventType
STOP_MOMENT_CALC: EventType
SAVE_FILE: EventType
SAVE_FILE_ACK: EventType
CONCAT_STOKES_FILES: EventType
CONCAT_STOKES_FILES_ACK: EventType
FILE_LIST_PROGRESS: EventType
STOP_FILE_LIST: EventType
PV_REQUEST: EventType
PV_RESPONSE: EventType
PV_PROGRESS: EventType
STOP_PV_CALC: EventType
FITTING_REQUEST: EventType
FITTING_RESPONSE: EventType
SET_VECTOR_OVERLAY_PARAMETERS: EventType
VECTOR_OVERLAY_TILE_DATA: EventType
FITTING_PROGRESS: EventType
STOP_FITTING: EventType
PV_PREVIEW_DATA: EventType
STOP_PV_PREVIEW: EventType
CLOSE_PV_PREVIEW: EventType
NEW: SessionType
RESUMED: SessionType
CASA: FileType
CRTF: FileType
DS9_REG: FileType
FITS: FileType
HDF5: FileType
MIRIAD: FileType
UNKNOWN: FileType
RASTER: RenderMode
CONTOUR: RenderMode
NONE: CompressionType
ZFP: CompressionType
SZ: CompressionType
POINT: RegionType
LINE: RegionType
POLYLINE: RegionType
RECTANGLE: RegionType
ELLIPSE: RegionType
ANNULUS: RegionType
POLYGON: RegionType
ANNPOINT: RegionType
ANNLINE: RegionType
ANNPOLYLINE: RegionType
ANNRECTANGLE: RegionType
ANNELLIPSE: RegionType
ANNPOLYGON: RegionType
ANNVECTOR: RegionType
ANNRULER: RegionType
ANNTEXT: RegionType
ANNCOMPASS: RegionType
NoSmoothing: SmoothingMode
BlockAverage: SmoothingMode
GaussianBlur: SmoothingMode
NumPixels: StatsType
NanCount: StatsType
Sum: StatsType
FluxDensity: StatsType
Mean: StatsType
RMS: StatsType
Sigma: StatsType
SumSq: StatsType
Min: StatsType
Max: StatsType
Extrema: StatsType
Blc: StatsType
Trc: StatsType
MinPos: StatsType
MaxPos: StatsType
Blcf: StatsType
Trcf: StatsType
MinPosf: StatsType
MaxPosf: StatsType
DEBUG: ErrorSeverity
INFO: ErrorSeverity
WARNING: ErrorSeverity
ERROR: ErrorSeverity
CRITICAL: ErrorSeverity
STRING: EntryType
FLOAT: EntryType
INT: EntryType
CLIENT_FEATURE_NONE: ClientFeatureFlags
WEB_GL: ClientFeatureFlags
WEB_GL_2: ClientFeatureFlags
WEB_ASSEMBLY: ClientFeatureFlags
WEB_ASSEMBLY_THREADS: ClientFeatureFlags
OFFSCREEN_CANVAS: ClientFeatureFlags
SERVER_FEATURE_NONE: ServerFeatureFlags
SZ_COMPRESSION: ServerFeatureFlags
HEVC_COMPRESSION: ServerFeatureFlags
NVENC_COMPRESSION: ServerFeatureFlags
READ_ONLY: ServerFeatureFlags
USER_PREFERENCES: ServerFeatureFlags
USER_LAYOUTS: ServerFeatureFlags
SCRIPTING: ServerFeatureFlags
FILE_FEATURE_NONE: FileFeatureFlags
ROTATED_DATASET: FileFeatureFlags
CHANNEL_HISTOGRAMS: FileFeatureFlags
CUBE_HISTOGRAMS: FileFeatureFlags
CHANNEL_STATS: FileFeatureFlags
MEAN_IMAGE: FileFeatureFlags
MIP_DATASET: FileFeatureFlags
PIXEL: CoordinateType
WORLD: CoordinateType
FITSTable: CatalogFileType
VOTable: CatalogFileType
Unknown: CatalogFileType
UnsupportedType: ColumnType
String: ColumnType
Uint8: ColumnType
Int8: ColumnType
Uint16: ColumnType
Int16: ColumnType
Uint32: ColumnType
Int32: ColumnType
Uint64: ColumnType
Int64: ColumnType
Float: ColumnType
Double: ColumnType
Bool: ColumnType
Equal: ComparisonOperator
NotEqual: ComparisonOperator
Lesser: ComparisonOperator
Greater: ComparisonOperator
LessorOrEqual: ComparisonOperator
GreaterOrEqual: ComparisonOperator
RangeOpen: ComparisonOperator
RangeClosed: ComparisonOperator
Ascending: SortingType
Descending: SortingType
MEAN_OF_THE_SPECTRUM: Moment
INTEGRATED_OF_THE_SPECTRUM: Moment
INTENSITY_WEIGHTED_COORD: Moment
INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD: Moment
MEDIAN_OF_THE_SPECTRUM: Moment
MEDIAN_COORDINATE: Moment
STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM: Moment
RMS_OF_THE_SPECTRUM: Moment
ABS_MEAN_DEVIATION_OF_THE_SPECTRUM: Moment
MAX_OF_THE_SPECTRUM: Moment
COORD_OF_THE_MAX_OF_THE_SPECTRUM: Moment
MIN_OF_THE_SPECTRUM: Moment
COORD_OF_THE_MIN_OF_THE_SPECTRUM: Moment
SPECTRAL: MomentAxis
STOKES: MomentAxis
Include: MomentMask
Exclude: MomentMask
POLARIZATION_TYPE_NONE: PolarizationType
I: PolarizationType
Q: PolarizationType
U: PolarizationType
V: PolarizationType
RR: PolarizationType
LL: PolarizationType
RL: PolarizationType
LR: PolarizationType
XX: PolarizationType
YY: PolarizationType
XY: PolarizationType
YX: PolarizationType
Ptotal: PolarizationType
Plinear: PolarizationType
PFtotal: PolarizationType
PFlinear: PolarizationType
Pangle: PolarizationType
Image: FileListType
Catalog: FileListType
Content: FileListFilterMode
Extension: FileListFilterMode
AllFiles: FileListFilterMode
Offset: ProfileAxisType
Distance: ProfileAxisType
SQUARE: PointAnnotationShape
BOX: PointAnnotationShape
CIRCLE: PointAnnotationShape
CIRCLE_LINED: PointAnnotationShape
DIAMOND: PointAnnotationShape
DIAMOND_LINED: PointAnnotationShape
CROSS: PointAnnotationShape
X: PointAnnotationShape
CENTER: TextAnnotationPosition
UPPER_LEFT: TextAnnotationPosition
UPPER_RIGHT: TextAnnotationPosition
LOWER_LEFT: TextAnnotationPosition
LOWER_RIGHT: TextAnnotationPosition
TOP: TextAnnotationPosition
BOTTOM: TextAnnotationPosition
LEFT: TextAnnotationPosition
RIGHT: TextAnnotationPosition
Qr: FittingSolverType
Cholesky: FittingSolverType
Mcholesky: FittingSolverType
Svd: FittingSolverType

class StartAnimation(_message.Message):
    __slots__ = ("file_id", "first_frame", "start_frame", "last_frame", "delta_frame", "frame_rate", "looping", "reverse", "required_tiles", "matched_frames", "stokes_indices")
    class MatchedFramesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: MatchedFrameList
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[MatchedFrameList, _Mapping]] = ...) -> None: ...
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_FRAME_FIELD_NUMBER: _ClassVar[int]
    START_FRAME_FIELD_NUMBER: _ClassVar[int]
    LAST_FRAME_FIELD_NUMBER: _ClassVar[int]
    DELTA_FRAME_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_FIELD_NUMBER: _ClassVar[int]
    LOOPING_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TILES_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FRAMES_FIELD_NUMBER: _ClassVar[int]
    STOKES_INDICES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    first_frame: AnimationFrame
    start_frame: AnimationFrame
    last_frame: AnimationFrame
    delta_frame: AnimationFrame
    frame_rate: int
    looping: bool
    reverse: bool
    required_tiles: AddRequiredTiles
    matched_frames: _containers.MessageMap[int, MatchedFrameList]
    stokes_indices: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, file_id: _Optional[int] = ..., first_frame: _Optional[_Union[AnimationFrame, _Mapping]] = ..., start_frame: _Optional[_Union[AnimationFrame, _Mapping]] = ..., last_frame: _Optional[_Union[AnimationFrame, _Mapping]] = ..., delta_frame: _Optional[_Union[AnimationFrame, _Mapping]] = ..., frame_rate: _Optional[int] = ..., looping: _Optional[bool] = ..., reverse: _Optional[bool] = ..., required_tiles: _Optional[_Union[AddRequiredTiles, _Mapping]] = ..., matched_frames: _Optional[_Mapping[int, MatchedFrameList]] = ..., stokes_indices: _Optional[_Iterable[int]] = ...) -> None: ...

class StartAnimationAck(_message.Message):
    __slots__ = ("success", "message", "animation_id")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ANIMATION_ID_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    animation_id: int
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., animation_id: _Optional[int] = ...) -> None: ...

class AnimationFlowControl(_message.Message):
    __slots__ = ("file_id", "received_frame", "animation_id", "timestamp")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FRAME_FIELD_NUMBER: _ClassVar[int]
    ANIMATION_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    received_frame: AnimationFrame
    animation_id: int
    timestamp: int
    def __init__(self, file_id: _Optional[int] = ..., received_frame: _Optional[_Union[AnimationFrame, _Mapping]] = ..., animation_id: _Optional[int] = ..., timestamp: _Optional[int] = ...) -> None: ...

class StopAnimation(_message.Message):
    __slots__ = ("file_id", "end_frame")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    END_FRAME_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    end_frame: AnimationFrame
    def __init__(self, file_id: _Optional[int] = ..., end_frame: _Optional[_Union[AnimationFrame, _Mapping]] = ...) -> None: ...

class CloseFile(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    def __init__(self, file_id: _Optional[int] = ...) -> None: ...

class ConcatStokesFiles(_message.Message):
    __slots__ = ("stokes_files", "file_id", "render_mode")
    STOKES_FILES_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    RENDER_MODE_FIELD_NUMBER: _ClassVar[int]
    stokes_files: _containers.RepeatedCompositeFieldContainer[StokesFile]
    file_id: int
    render_mode: RenderMode
    def __init__(self, stokes_files: _Optional[_Iterable[_Union[StokesFile, _Mapping]]] = ..., file_id: _Optional[int] = ..., render_mode: _Optional[_Union[RenderMode, int, str]] = ...) -> None: ...

class StokesFile(_message.Message):
    __slots__ = ("directory", "file", "hdu", "polarization_type")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    HDU_FIELD_NUMBER: _ClassVar[int]
    POLARIZATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    directory: str
    file: str
    hdu: str
    polarization_type: PolarizationType
    def __init__(self, directory: _Optional[str] = ..., file: _Optional[str] = ..., hdu: _Optional[str] = ..., polarization_type: _Optional[_Union[PolarizationType, int, str]] = ...) -> None: ...

class ConcatStokesFilesAck(_message.Message):
    __slots__ = ("success", "message", "open_file_ack")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPEN_FILE_ACK_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    open_file_ack: OpenFileAck
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., open_file_ack: _Optional[_Union[OpenFileAck, _Mapping]] = ...) -> None: ...

class SetContourParameters(_message.Message):
    __slots__ = ("file_id", "reference_file_id", "image_bounds", "levels", "smoothing_mode", "smoothing_factor", "decimation_factor", "compression_level", "contour_chunk_size")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    SMOOTHING_MODE_FIELD_NUMBER: _ClassVar[int]
    SMOOTHING_FACTOR_FIELD_NUMBER: _ClassVar[int]
    DECIMATION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CONTOUR_CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    reference_file_id: int
    image_bounds: ImageBounds
    levels: _containers.RepeatedScalarFieldContainer[float]
    smoothing_mode: SmoothingMode
    smoothing_factor: int
    decimation_factor: int
    compression_level: int
    contour_chunk_size: int
    def __init__(self, file_id: _Optional[int] = ..., reference_file_id: _Optional[int] = ..., image_bounds: _Optional[_Union[ImageBounds, _Mapping]] = ..., levels: _Optional[_Iterable[float]] = ..., smoothing_mode: _Optional[_Union[SmoothingMode, int, str]] = ..., smoothing_factor: _Optional[int] = ..., decimation_factor: _Optional[int] = ..., compression_level: _Optional[int] = ..., contour_chunk_size: _Optional[int] = ...) -> None: ...

class ExportRegion(_message.Message):
    __slots__ = ("type", "coord_type", "file_id", "region_styles", "directory", "file")
    class RegionStylesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: RegionStyle
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[RegionStyle, _Mapping]] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_STYLES_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    type: FileType
    coord_type: CoordinateType
    file_id: int
    region_styles: _containers.MessageMap[int, RegionStyle]
    directory: str
    file: str
    def __init__(self, type: _Optional[_Union[FileType, int, str]] = ..., coord_type: _Optional[_Union[CoordinateType, int, str]] = ..., file_id: _Optional[int] = ..., region_styles: _Optional[_Mapping[int, RegionStyle]] = ..., directory: _Optional[str] = ..., file: _Optional[str] = ...) -> None: ...

class ExportRegionAck(_message.Message):
    __slots__ = ("success", "message", "contents")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    contents: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., contents: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportRegion(_message.Message):
    __slots__ = ("group_id", "type", "directory", "file", "contents")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    group_id: int
    type: FileType
    directory: str
    file: str
    contents: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group_id: _Optional[int] = ..., type: _Optional[_Union[FileType, int, str]] = ..., directory: _Optional[str] = ..., file: _Optional[str] = ..., contents: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportRegionAck(_message.Message):
    __slots__ = ("success", "message", "regions", "region_styles")
    class RegionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: RegionInfo
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[RegionInfo, _Mapping]] = ...) -> None: ...
    class RegionStylesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: RegionStyle
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[RegionStyle, _Mapping]] = ...) -> None: ...
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    REGION_STYLES_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    regions: _containers.MessageMap[int, RegionInfo]
    region_styles: _containers.MessageMap[int, RegionStyle]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., regions: _Optional[_Mapping[int, RegionInfo]] = ..., region_styles: _Optional[_Mapping[int, RegionStyle]] = ...) -> None: ...

class OpenCatalogFile(_message.Message):
    __slots__ = ("directory", "name", "file_id", "preview_data_size")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_DATA_SIZE_FIELD_NUMBER: _ClassVar[int]
    directory: str
    name: str
    file_id: int
    preview_data_size: int
    def __init__(self, directory: _Optional[str] = ..., name: _Optional[str] = ..., file_id: _Optional[int] = ..., preview_data_size: _Optional[int] = ...) -> None: ...

class OpenCatalogFileAck(_message.Message):
    __slots__ = ("success", "message", "file_id", "file_info", "data_size", "headers", "preview_data")
    class PreviewDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: ColumnData
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[ColumnData, _Mapping]] = ...) -> None: ...
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_FIELD_NUMBER: _ClassVar[int]
    DATA_SIZE_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_DATA_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    file_id: int
    file_info: CatalogFileInfo
    data_size: int
    headers: _containers.RepeatedCompositeFieldContainer[CatalogHeader]
    preview_data: _containers.MessageMap[int, ColumnData]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., file_id: _Optional[int] = ..., file_info: _Optional[_Union[CatalogFileInfo, _Mapping]] = ..., data_size: _Optional[int] = ..., headers: _Optional[_Iterable[_Union[CatalogHeader, _Mapping]]] = ..., preview_data: _Optional[_Mapping[int, ColumnData]] = ...) -> None: ...

class CloseCatalogFile(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    def __init__(self, file_id: _Optional[int] = ...) -> None: ...

class OpenFile(_message.Message):
    __slots__ = ("directory", "file", "hdu", "file_id", "render_mode", "lel_expr", "support_aips_beam")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    HDU_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    RENDER_MODE_FIELD_NUMBER: _ClassVar[int]
    LEL_EXPR_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_AIPS_BEAM_FIELD_NUMBER: _ClassVar[int]
    directory: str
    file: str
    hdu: str
    file_id: int
    render_mode: RenderMode
    lel_expr: bool
    support_aips_beam: bool
    def __init__(self, directory: _Optional[str] = ..., file: _Optional[str] = ..., hdu: _Optional[str] = ..., file_id: _Optional[int] = ..., render_mode: _Optional[_Union[RenderMode, int, str]] = ..., lel_expr: _Optional[bool] = ..., support_aips_beam: _Optional[bool] = ...) -> None: ...

class OpenFileAck(_message.Message):
    __slots__ = ("success", "file_id", "message", "file_info", "file_info_extended", "file_feature_flags", "beam_table")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_EXTENDED_FIELD_NUMBER: _ClassVar[int]
    FILE_FEATURE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    BEAM_TABLE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    file_id: int
    message: str
    file_info: FileInfo
    file_info_extended: FileInfoExtended
    file_feature_flags: int
    beam_table: _containers.RepeatedCompositeFieldContainer[Beam]
    def __init__(self, success: _Optional[bool] = ..., file_id: _Optional[int] = ..., message: _Optional[str] = ..., file_info: _Optional[_Union[FileInfo, _Mapping]] = ..., file_info_extended: _Optional[_Union[FileInfoExtended, _Mapping]] = ..., file_feature_flags: _Optional[int] = ..., beam_table: _Optional[_Iterable[_Union[Beam, _Mapping]]] = ...) -> None: ...

class SetRegion(_message.Message):
    __slots__ = ("file_id", "region_id", "region_info", "preview_region")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_INFO_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_REGION_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    region_info: RegionInfo
    preview_region: bool
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., region_info: _Optional[_Union[RegionInfo, _Mapping]] = ..., preview_region: _Optional[bool] = ...) -> None: ...

class SetRegionAck(_message.Message):
    __slots__ = ("success", "message", "region_id")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    region_id: int
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., region_id: _Optional[int] = ...) -> None: ...

class RemoveRegion(_message.Message):
    __slots__ = ("region_id",)
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    def __init__(self, region_id: _Optional[int] = ...) -> None: ...

class SetStatsRequirements(_message.Message):
    __slots__ = ("file_id", "region_id", "stats_configs")
    class StatsConfig(_message.Message):
        __slots__ = ("coordinate", "stats_types")
        COORDINATE_FIELD_NUMBER: _ClassVar[int]
        STATS_TYPES_FIELD_NUMBER: _ClassVar[int]
        coordinate: str
        stats_types: _containers.RepeatedScalarFieldContainer[StatsType]
        def __init__(self, coordinate: _Optional[str] = ..., stats_types: _Optional[_Iterable[_Union[StatsType, int, str]]] = ...) -> None: ...
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    STATS_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    stats_configs: _containers.RepeatedCompositeFieldContainer[SetStatsRequirements.StatsConfig]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., stats_configs: _Optional[_Iterable[_Union[SetStatsRequirements.StatsConfig, _Mapping]]] = ...) -> None: ...

class SetHistogramRequirements(_message.Message):
    __slots__ = ("file_id", "region_id", "histograms")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAMS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    histograms: _containers.RepeatedCompositeFieldContainer[HistogramConfig]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., histograms: _Optional[_Iterable[_Union[HistogramConfig, _Mapping]]] = ...) -> None: ...

class SetSpatialRequirements(_message.Message):
    __slots__ = ("file_id", "region_id", "spatial_profiles")
    class SpatialConfig(_message.Message):
        __slots__ = ("coordinate", "start", "end", "mip", "width")
        COORDINATE_FIELD_NUMBER: _ClassVar[int]
        START_FIELD_NUMBER: _ClassVar[int]
        END_FIELD_NUMBER: _ClassVar[int]
        MIP_FIELD_NUMBER: _ClassVar[int]
        WIDTH_FIELD_NUMBER: _ClassVar[int]
        coordinate: str
        start: int
        end: int
        mip: int
        width: int
        def __init__(self, coordinate: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., mip: _Optional[int] = ..., width: _Optional[int] = ...) -> None: ...
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    SPATIAL_PROFILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    spatial_profiles: _containers.RepeatedCompositeFieldContainer[SetSpatialRequirements.SpatialConfig]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., spatial_profiles: _Optional[_Iterable[_Union[SetSpatialRequirements.SpatialConfig, _Mapping]]] = ...) -> None: ...

class SetSpectralRequirements(_message.Message):
    __slots__ = ("file_id", "region_id", "spectral_profiles")
    class SpectralConfig(_message.Message):
        __slots__ = ("coordinate", "stats_types")
        COORDINATE_FIELD_NUMBER: _ClassVar[int]
        STATS_TYPES_FIELD_NUMBER: _ClassVar[int]
        coordinate: str
        stats_types: _containers.RepeatedScalarFieldContainer[StatsType]
        def __init__(self, coordinate: _Optional[str] = ..., stats_types: _Optional[_Iterable[_Union[StatsType, int, str]]] = ...) -> None: ...
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    SPECTRAL_PROFILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    spectral_profiles: _containers.RepeatedCompositeFieldContainer[SetSpectralRequirements.SpectralConfig]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., spectral_profiles: _Optional[_Iterable[_Union[SetSpectralRequirements.SpectralConfig, _Mapping]]] = ...) -> None: ...

class RegisterViewer(_message.Message):
    __slots__ = ("session_id", "api_key", "client_feature_flags")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FEATURE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    api_key: str
    client_feature_flags: int
    def __init__(self, session_id: _Optional[int] = ..., api_key: _Optional[str] = ..., client_feature_flags: _Optional[int] = ...) -> None: ...

class RegisterViewerAck(_message.Message):
    __slots__ = ("session_id", "success", "message", "session_type", "server_feature_flags", "user_preferences", "user_layouts", "platform_strings")
    class UserPreferencesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class UserLayoutsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PlatformStringsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SERVER_FEATURE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    USER_PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    USER_LAYOUTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_STRINGS_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    success: bool
    message: str
    session_type: SessionType
    server_feature_flags: int
    user_preferences: _containers.ScalarMap[str, str]
    user_layouts: _containers.ScalarMap[str, str]
    platform_strings: _containers.ScalarMap[str, str]
    def __init__(self, session_id: _Optional[int] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., session_type: _Optional[_Union[SessionType, int, str]] = ..., server_feature_flags: _Optional[int] = ..., user_preferences: _Optional[_Mapping[str, str]] = ..., user_layouts: _Optional[_Mapping[str, str]] = ..., platform_strings: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ImageProperties(_message.Message):
    __slots__ = ("directory", "file", "lel_expr", "hdu", "file_id", "render_mode", "channel", "stokes", "regions", "contour_settings", "stokes_files", "support_aips_beam")
    class RegionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: RegionInfo
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[RegionInfo, _Mapping]] = ...) -> None: ...
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LEL_EXPR_FIELD_NUMBER: _ClassVar[int]
    HDU_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    RENDER_MODE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    CONTOUR_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    STOKES_FILES_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_AIPS_BEAM_FIELD_NUMBER: _ClassVar[int]
    directory: str
    file: str
    lel_expr: bool
    hdu: str
    file_id: int
    render_mode: RenderMode
    channel: int
    stokes: int
    regions: _containers.MessageMap[int, RegionInfo]
    contour_settings: SetContourParameters
    stokes_files: _containers.RepeatedCompositeFieldContainer[StokesFile]
    support_aips_beam: bool
    def __init__(self, directory: _Optional[str] = ..., file: _Optional[str] = ..., lel_expr: _Optional[bool] = ..., hdu: _Optional[str] = ..., file_id: _Optional[int] = ..., render_mode: _Optional[_Union[RenderMode, int, str]] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., regions: _Optional[_Mapping[int, RegionInfo]] = ..., contour_settings: _Optional[_Union[SetContourParameters, _Mapping]] = ..., stokes_files: _Optional[_Iterable[_Union[StokesFile, _Mapping]]] = ..., support_aips_beam: _Optional[bool] = ...) -> None: ...

class ResumeSession(_message.Message):
    __slots__ = ("images", "catalog_files")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    CATALOG_FILES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[ImageProperties]
    catalog_files: _containers.RepeatedCompositeFieldContainer[OpenCatalogFile]
    def __init__(self, images: _Optional[_Iterable[_Union[ImageProperties, _Mapping]]] = ..., catalog_files: _Optional[_Iterable[_Union[OpenCatalogFile, _Mapping]]] = ...) -> None: ...

class ResumeSessionAck(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class SetCursor(_message.Message):
    __slots__ = ("file_id", "point", "spatial_requirements")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_FIELD_NUMBER: _ClassVar[int]
    SPATIAL_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    point: Point
    spatial_requirements: SetSpatialRequirements
    def __init__(self, file_id: _Optional[int] = ..., point: _Optional[_Union[Point, _Mapping]] = ..., spatial_requirements: _Optional[_Union[SetSpatialRequirements, _Mapping]] = ...) -> None: ...

class SetImageChannels(_message.Message):
    __slots__ = ("file_id", "channel", "stokes", "required_tiles")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    channel: int
    stokes: int
    required_tiles: AddRequiredTiles
    def __init__(self, file_id: _Optional[int] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., required_tiles: _Optional[_Union[AddRequiredTiles, _Mapping]] = ...) -> None: ...

class StopMomentCalc(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    def __init__(self, file_id: _Optional[int] = ...) -> None: ...

class StopPvCalc(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    def __init__(self, file_id: _Optional[int] = ...) -> None: ...

class StopPvPreview(_message.Message):
    __slots__ = ("preview_id",)
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    preview_id: int
    def __init__(self, preview_id: _Optional[int] = ...) -> None: ...

class ClosePvPreview(_message.Message):
    __slots__ = ("preview_id",)
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    preview_id: int
    def __init__(self, preview_id: _Optional[int] = ...) -> None: ...

class AddRequiredTiles(_message.Message):
    __slots__ = ("file_id", "tiles", "compression_type", "compression_quality")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    tiles: _containers.RepeatedScalarFieldContainer[int]
    compression_type: CompressionType
    compression_quality: float
    def __init__(self, file_id: _Optional[int] = ..., tiles: _Optional[_Iterable[int]] = ..., compression_type: _Optional[_Union[CompressionType, int, str]] = ..., compression_quality: _Optional[float] = ...) -> None: ...

class RemoveRequiredTiles(_message.Message):
    __slots__ = ("file_id", "tiles")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    tiles: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, file_id: _Optional[int] = ..., tiles: _Optional[_Iterable[int]] = ...) -> None: ...

class SetVectorOverlayParameters(_message.Message):
    __slots__ = ("file_id", "image_bounds", "smoothing_factor", "fractional", "threshold", "debiasing", "q_error", "u_error", "stokes_intensity", "stokes_angle", "compression_type", "compression_quality")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    SMOOTHING_FACTOR_FIELD_NUMBER: _ClassVar[int]
    FRACTIONAL_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DEBIASING_FIELD_NUMBER: _ClassVar[int]
    Q_ERROR_FIELD_NUMBER: _ClassVar[int]
    U_ERROR_FIELD_NUMBER: _ClassVar[int]
    STOKES_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    STOKES_ANGLE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    image_bounds: ImageBounds
    smoothing_factor: int
    fractional: bool
    threshold: float
    debiasing: bool
    q_error: float
    u_error: float
    stokes_intensity: int
    stokes_angle: int
    compression_type: CompressionType
    compression_quality: float
    def __init__(self, file_id: _Optional[int] = ..., image_bounds: _Optional[_Union[ImageBounds, _Mapping]] = ..., smoothing_factor: _Optional[int] = ..., fractional: _Optional[bool] = ..., threshold: _Optional[float] = ..., debiasing: _Optional[bool] = ..., q_error: _Optional[float] = ..., u_error: _Optional[float] = ..., stokes_intensity: _Optional[int] = ..., stokes_angle: _Optional[int] = ..., compression_type: _Optional[_Union[CompressionType, int, str]] = ..., compression_quality: _Optional[float] = ...) -> None: ...

class CatalogFileInfoRequest(_message.Message):
    __slots__ = ("directory", "name")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    directory: str
    name: str
    def __init__(self, directory: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CatalogFileInfoResponse(_message.Message):
    __slots__ = ("success", "message", "file_info", "headers")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    file_info: CatalogFileInfo
    headers: _containers.RepeatedCompositeFieldContainer[CatalogHeader]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., file_info: _Optional[_Union[CatalogFileInfo, _Mapping]] = ..., headers: _Optional[_Iterable[_Union[CatalogHeader, _Mapping]]] = ...) -> None: ...

class CatalogListRequest(_message.Message):
    __slots__ = ("directory", "filter_mode")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILTER_MODE_FIELD_NUMBER: _ClassVar[int]
    directory: str
    filter_mode: FileListFilterMode
    def __init__(self, directory: _Optional[str] = ..., filter_mode: _Optional[_Union[FileListFilterMode, int, str]] = ...) -> None: ...

class CatalogListResponse(_message.Message):
    __slots__ = ("success", "message", "directory", "parent", "files", "subdirectories", "cancel")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    directory: str
    parent: str
    files: _containers.RepeatedCompositeFieldContainer[CatalogFileInfo]
    subdirectories: _containers.RepeatedCompositeFieldContainer[DirectoryInfo]
    cancel: bool
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., directory: _Optional[str] = ..., parent: _Optional[str] = ..., files: _Optional[_Iterable[_Union[CatalogFileInfo, _Mapping]]] = ..., subdirectories: _Optional[_Iterable[_Union[DirectoryInfo, _Mapping]]] = ..., cancel: _Optional[bool] = ...) -> None: ...

class FileInfoRequest(_message.Message):
    __slots__ = ("directory", "file", "hdu", "support_aips_beam")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    HDU_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_AIPS_BEAM_FIELD_NUMBER: _ClassVar[int]
    directory: str
    file: str
    hdu: str
    support_aips_beam: bool
    def __init__(self, directory: _Optional[str] = ..., file: _Optional[str] = ..., hdu: _Optional[str] = ..., support_aips_beam: _Optional[bool] = ...) -> None: ...

class FileInfoResponse(_message.Message):
    __slots__ = ("success", "message", "file_info", "file_info_extended")
    class FileInfoExtendedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FileInfoExtended
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FileInfoExtended, _Mapping]] = ...) -> None: ...
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_EXTENDED_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    file_info: FileInfo
    file_info_extended: _containers.MessageMap[str, FileInfoExtended]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., file_info: _Optional[_Union[FileInfo, _Mapping]] = ..., file_info_extended: _Optional[_Mapping[str, FileInfoExtended]] = ...) -> None: ...

class FileListRequest(_message.Message):
    __slots__ = ("directory", "filter_mode")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILTER_MODE_FIELD_NUMBER: _ClassVar[int]
    directory: str
    filter_mode: FileListFilterMode
    def __init__(self, directory: _Optional[str] = ..., filter_mode: _Optional[_Union[FileListFilterMode, int, str]] = ...) -> None: ...

class FileListResponse(_message.Message):
    __slots__ = ("success", "message", "directory", "parent", "files", "subdirectories", "cancel")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    directory: str
    parent: str
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    subdirectories: _containers.RepeatedCompositeFieldContainer[DirectoryInfo]
    cancel: bool
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., directory: _Optional[str] = ..., parent: _Optional[str] = ..., files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., subdirectories: _Optional[_Iterable[_Union[DirectoryInfo, _Mapping]]] = ..., cancel: _Optional[bool] = ...) -> None: ...

class StopFileList(_message.Message):
    __slots__ = ("file_list_type",)
    FILE_LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    file_list_type: FileListType
    def __init__(self, file_list_type: _Optional[_Union[FileListType, int, str]] = ...) -> None: ...

class FittingRequest(_message.Message):
    __slots__ = ("file_id", "initial_values", "fixed_params", "region_id", "fov_info", "create_model_image", "create_residual_image", "offset", "solver")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    INITIAL_VALUES_FIELD_NUMBER: _ClassVar[int]
    FIXED_PARAMS_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    FOV_INFO_FIELD_NUMBER: _ClassVar[int]
    CREATE_MODEL_IMAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_RESIDUAL_IMAGE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SOLVER_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    initial_values: _containers.RepeatedCompositeFieldContainer[GaussianComponent]
    fixed_params: _containers.RepeatedScalarFieldContainer[bool]
    region_id: int
    fov_info: RegionInfo
    create_model_image: bool
    create_residual_image: bool
    offset: float
    solver: FittingSolverType
    def __init__(self, file_id: _Optional[int] = ..., initial_values: _Optional[_Iterable[_Union[GaussianComponent, _Mapping]]] = ..., fixed_params: _Optional[_Iterable[bool]] = ..., region_id: _Optional[int] = ..., fov_info: _Optional[_Union[RegionInfo, _Mapping]] = ..., create_model_image: _Optional[bool] = ..., create_residual_image: _Optional[bool] = ..., offset: _Optional[float] = ..., solver: _Optional[_Union[FittingSolverType, int, str]] = ...) -> None: ...

class FittingResponse(_message.Message):
    __slots__ = ("success", "message", "result_values", "result_errors", "log", "model_image", "residual_image", "offset_value", "offset_error", "integrated_flux_values", "integrated_flux_errors")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESULT_VALUES_FIELD_NUMBER: _ClassVar[int]
    RESULT_ERRORS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    MODEL_IMAGE_FIELD_NUMBER: _ClassVar[int]
    RESIDUAL_IMAGE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_VALUE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_ERROR_FIELD_NUMBER: _ClassVar[int]
    INTEGRATED_FLUX_VALUES_FIELD_NUMBER: _ClassVar[int]
    INTEGRATED_FLUX_ERRORS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    result_values: _containers.RepeatedCompositeFieldContainer[GaussianComponent]
    result_errors: _containers.RepeatedCompositeFieldContainer[GaussianComponent]
    log: str
    model_image: OpenFileAck
    residual_image: OpenFileAck
    offset_value: float
    offset_error: float
    integrated_flux_values: _containers.RepeatedScalarFieldContainer[float]
    integrated_flux_errors: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., result_values: _Optional[_Iterable[_Union[GaussianComponent, _Mapping]]] = ..., result_errors: _Optional[_Iterable[_Union[GaussianComponent, _Mapping]]] = ..., log: _Optional[str] = ..., model_image: _Optional[_Union[OpenFileAck, _Mapping]] = ..., residual_image: _Optional[_Union[OpenFileAck, _Mapping]] = ..., offset_value: _Optional[float] = ..., offset_error: _Optional[float] = ..., integrated_flux_values: _Optional[_Iterable[float]] = ..., integrated_flux_errors: _Optional[_Iterable[float]] = ...) -> None: ...

class FittingProgress(_message.Message):
    __slots__ = ("file_id", "progress")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    progress: float
    def __init__(self, file_id: _Optional[int] = ..., progress: _Optional[float] = ...) -> None: ...

class StopFitting(_message.Message):
    __slots__ = ("file_id",)
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    def __init__(self, file_id: _Optional[int] = ...) -> None: ...

class MomentRequest(_message.Message):
    __slots__ = ("file_id", "moments", "axis", "region_id", "spectral_range", "mask", "pixel_range", "keep")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    MOMENTS_FIELD_NUMBER: _ClassVar[int]
    AXIS_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    SPECTRAL_RANGE_FIELD_NUMBER: _ClassVar[int]
    MASK_FIELD_NUMBER: _ClassVar[int]
    PIXEL_RANGE_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    moments: _containers.RepeatedScalarFieldContainer[Moment]
    axis: MomentAxis
    region_id: int
    spectral_range: IntBounds
    mask: MomentMask
    pixel_range: FloatBounds
    keep: bool
    def __init__(self, file_id: _Optional[int] = ..., moments: _Optional[_Iterable[_Union[Moment, int, str]]] = ..., axis: _Optional[_Union[MomentAxis, int, str]] = ..., region_id: _Optional[int] = ..., spectral_range: _Optional[_Union[IntBounds, _Mapping]] = ..., mask: _Optional[_Union[MomentMask, int, str]] = ..., pixel_range: _Optional[_Union[FloatBounds, _Mapping]] = ..., keep: _Optional[bool] = ...) -> None: ...

class MomentResponse(_message.Message):
    __slots__ = ("success", "message", "open_file_acks", "cancel")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPEN_FILE_ACKS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    open_file_acks: _containers.RepeatedCompositeFieldContainer[OpenFileAck]
    cancel: bool
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., open_file_acks: _Optional[_Iterable[_Union[OpenFileAck, _Mapping]]] = ..., cancel: _Optional[bool] = ...) -> None: ...

class MomentProgress(_message.Message):
    __slots__ = ("file_id", "progress")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    progress: float
    def __init__(self, file_id: _Optional[int] = ..., progress: _Optional[float] = ...) -> None: ...

class PvRequest(_message.Message):
    __slots__ = ("file_id", "region_id", "width", "spectral_range", "reverse", "keep", "preview_settings")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    SPECTRAL_RANGE_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    width: int
    spectral_range: IntBounds
    reverse: bool
    keep: bool
    preview_settings: PvPreviewSettings
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., width: _Optional[int] = ..., spectral_range: _Optional[_Union[IntBounds, _Mapping]] = ..., reverse: _Optional[bool] = ..., keep: _Optional[bool] = ..., preview_settings: _Optional[_Union[PvPreviewSettings, _Mapping]] = ...) -> None: ...

class PvResponse(_message.Message):
    __slots__ = ("success", "message", "open_file_ack", "preview_data", "cancel")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPEN_FILE_ACK_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_DATA_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    open_file_ack: OpenFileAck
    preview_data: PvPreviewData
    cancel: bool
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., open_file_ack: _Optional[_Union[OpenFileAck, _Mapping]] = ..., preview_data: _Optional[_Union[PvPreviewData, _Mapping]] = ..., cancel: _Optional[bool] = ...) -> None: ...

class PvProgress(_message.Message):
    __slots__ = ("file_id", "preview_id", "progress")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    preview_id: int
    progress: float
    def __init__(self, file_id: _Optional[int] = ..., preview_id: _Optional[int] = ..., progress: _Optional[float] = ...) -> None: ...

class RegionFileInfoRequest(_message.Message):
    __slots__ = ("directory", "file")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    directory: str
    file: str
    def __init__(self, directory: _Optional[str] = ..., file: _Optional[str] = ...) -> None: ...

class RegionFileInfoResponse(_message.Message):
    __slots__ = ("success", "message", "file_info", "contents")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_INFO_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    file_info: FileInfo
    contents: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., file_info: _Optional[_Union[FileInfo, _Mapping]] = ..., contents: _Optional[_Iterable[str]] = ...) -> None: ...

class RegionListRequest(_message.Message):
    __slots__ = ("directory", "filter_mode")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    FILTER_MODE_FIELD_NUMBER: _ClassVar[int]
    directory: str
    filter_mode: FileListFilterMode
    def __init__(self, directory: _Optional[str] = ..., filter_mode: _Optional[_Union[FileListFilterMode, int, str]] = ...) -> None: ...

class RegionListResponse(_message.Message):
    __slots__ = ("success", "message", "directory", "parent", "files", "subdirectories", "cancel")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    directory: str
    parent: str
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    subdirectories: _containers.RepeatedCompositeFieldContainer[DirectoryInfo]
    cancel: bool
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., directory: _Optional[str] = ..., parent: _Optional[str] = ..., files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., subdirectories: _Optional[_Iterable[_Union[DirectoryInfo, _Mapping]]] = ..., cancel: _Optional[bool] = ...) -> None: ...

class SaveFile(_message.Message):
    __slots__ = ("file_id", "output_file_directory", "output_file_name", "output_file_type", "region_id", "channels", "stokes", "keep_degenerate", "rest_freq")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    KEEP_DEGENERATE_FIELD_NUMBER: _ClassVar[int]
    REST_FREQ_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    output_file_directory: str
    output_file_name: str
    output_file_type: FileType
    region_id: int
    channels: _containers.RepeatedScalarFieldContainer[int]
    stokes: _containers.RepeatedScalarFieldContainer[int]
    keep_degenerate: bool
    rest_freq: float
    def __init__(self, file_id: _Optional[int] = ..., output_file_directory: _Optional[str] = ..., output_file_name: _Optional[str] = ..., output_file_type: _Optional[_Union[FileType, int, str]] = ..., region_id: _Optional[int] = ..., channels: _Optional[_Iterable[int]] = ..., stokes: _Optional[_Iterable[int]] = ..., keep_degenerate: _Optional[bool] = ..., rest_freq: _Optional[float] = ...) -> None: ...

class SaveFileAck(_message.Message):
    __slots__ = ("file_id", "success", "message")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    success: bool
    message: str
    def __init__(self, file_id: _Optional[int] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class ScriptingRequest(_message.Message):
    __slots__ = ("scripting_request_id", "target", "action", "parameters", "return_path")
    SCRIPTING_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ASYNC_FIELD_NUMBER: _ClassVar[int]
    RETURN_PATH_FIELD_NUMBER: _ClassVar[int]
    scripting_request_id: int
    target: str
    action: str
    parameters: str
    return_path: str
    def __init__(self, scripting_request_id: _Optional[int] = ..., target: _Optional[str] = ..., action: _Optional[str] = ..., parameters: _Optional[str] = ..., return_path: _Optional[str] = ..., **kwargs) -> None: ...

class ScriptingResponse(_message.Message):
    __slots__ = ("scripting_request_id", "success", "message", "response")
    SCRIPTING_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    scripting_request_id: int
    success: bool
    message: str
    response: str
    def __init__(self, scripting_request_id: _Optional[int] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., response: _Optional[str] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class DoublePoint(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("name", "type", "size", "HDU_list", "date")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HDU_LIST_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: FileType
    size: int
    HDU_list: _containers.RepeatedScalarFieldContainer[str]
    date: int
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[FileType, int, str]] = ..., size: _Optional[int] = ..., HDU_list: _Optional[_Iterable[str]] = ..., date: _Optional[int] = ...) -> None: ...

class DirectoryInfo(_message.Message):
    __slots__ = ("name", "item_count", "date")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    item_count: int
    date: int
    def __init__(self, name: _Optional[str] = ..., item_count: _Optional[int] = ..., date: _Optional[int] = ...) -> None: ...

class FileInfoExtended(_message.Message):
    __slots__ = ("dimensions", "width", "height", "depth", "stokes", "stokes_vals", "header_entries", "computed_entries", "axes_numbers")
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    STOKES_VALS_FIELD_NUMBER: _ClassVar[int]
    HEADER_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    AXES_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    dimensions: int
    width: int
    height: int
    depth: int
    stokes: int
    stokes_vals: _containers.RepeatedScalarFieldContainer[str]
    header_entries: _containers.RepeatedCompositeFieldContainer[HeaderEntry]
    computed_entries: _containers.RepeatedCompositeFieldContainer[HeaderEntry]
    axes_numbers: AxesNumbers
    def __init__(self, dimensions: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., depth: _Optional[int] = ..., stokes: _Optional[int] = ..., stokes_vals: _Optional[_Iterable[str]] = ..., header_entries: _Optional[_Iterable[_Union[HeaderEntry, _Mapping]]] = ..., computed_entries: _Optional[_Iterable[_Union[HeaderEntry, _Mapping]]] = ..., axes_numbers: _Optional[_Union[AxesNumbers, _Mapping]] = ...) -> None: ...

class HeaderEntry(_message.Message):
    __slots__ = ("name", "value", "entry_type", "numeric_value", "comment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_TYPE_FIELD_NUMBER: _ClassVar[int]
    NUMERIC_VALUE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    entry_type: EntryType
    numeric_value: float
    comment: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., entry_type: _Optional[_Union[EntryType, int, str]] = ..., numeric_value: _Optional[float] = ..., comment: _Optional[str] = ...) -> None: ...

class AxesNumbers(_message.Message):
    __slots__ = ("spatial_x", "spatial_y", "spectral", "stokes", "depth")
    SPATIAL_X_FIELD_NUMBER: _ClassVar[int]
    SPATIAL_Y_FIELD_NUMBER: _ClassVar[int]
    SPECTRAL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    spatial_x: int
    spatial_y: int
    spectral: int
    stokes: int
    depth: int
    def __init__(self, spatial_x: _Optional[int] = ..., spatial_y: _Optional[int] = ..., spectral: _Optional[int] = ..., stokes: _Optional[int] = ..., depth: _Optional[int] = ...) -> None: ...

class IntBounds(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: int
    max: int
    def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...

class FloatBounds(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class DoubleBounds(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class ImageBounds(_message.Message):
    __slots__ = ("x_min", "x_max", "y_min", "y_max")
    X_MIN_FIELD_NUMBER: _ClassVar[int]
    X_MAX_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_FIELD_NUMBER: _ClassVar[int]
    Y_MAX_FIELD_NUMBER: _ClassVar[int]
    x_min: int
    x_max: int
    y_min: int
    y_max: int
    def __init__(self, x_min: _Optional[int] = ..., x_max: _Optional[int] = ..., y_min: _Optional[int] = ..., y_max: _Optional[int] = ...) -> None: ...

class AnimationFrame(_message.Message):
    __slots__ = ("channel", "stokes")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    channel: int
    stokes: int
    def __init__(self, channel: _Optional[int] = ..., stokes: _Optional[int] = ...) -> None: ...

class SpatialProfile(_message.Message):
    __slots__ = ("start", "end", "raw_values_fp32", "coordinate", "mip", "line_axis")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RAW_VALUES_FP32_FIELD_NUMBER: _ClassVar[int]
    COORDINATE_FIELD_NUMBER: _ClassVar[int]
    MIP_FIELD_NUMBER: _ClassVar[int]
    LINE_AXIS_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    raw_values_fp32: bytes
    coordinate: str
    mip: int
    line_axis: LineProfileAxis
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., raw_values_fp32: _Optional[bytes] = ..., coordinate: _Optional[str] = ..., mip: _Optional[int] = ..., line_axis: _Optional[_Union[LineProfileAxis, _Mapping]] = ...) -> None: ...

class LineProfileAxis(_message.Message):
    __slots__ = ("axis_type", "crpix", "crval", "cdelt", "unit")
    AXIS_TYPE_FIELD_NUMBER: _ClassVar[int]
    CRPIX_FIELD_NUMBER: _ClassVar[int]
    CRVAL_FIELD_NUMBER: _ClassVar[int]
    CDELT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    axis_type: ProfileAxisType
    crpix: float
    crval: float
    cdelt: float
    unit: str
    def __init__(self, axis_type: _Optional[_Union[ProfileAxisType, int, str]] = ..., crpix: _Optional[float] = ..., crval: _Optional[float] = ..., cdelt: _Optional[float] = ..., unit: _Optional[str] = ...) -> None: ...

class SpectralProfile(_message.Message):
    __slots__ = ("coordinate", "stats_type", "raw_values_fp32", "raw_values_fp64")
    COORDINATE_FIELD_NUMBER: _ClassVar[int]
    STATS_TYPE_FIELD_NUMBER: _ClassVar[int]
    RAW_VALUES_FP32_FIELD_NUMBER: _ClassVar[int]
    RAW_VALUES_FP64_FIELD_NUMBER: _ClassVar[int]
    coordinate: str
    stats_type: StatsType
    raw_values_fp32: bytes
    raw_values_fp64: bytes
    def __init__(self, coordinate: _Optional[str] = ..., stats_type: _Optional[_Union[StatsType, int, str]] = ..., raw_values_fp32: _Optional[bytes] = ..., raw_values_fp64: _Optional[bytes] = ...) -> None: ...

class StatisticsValue(_message.Message):
    __slots__ = ("stats_type", "value")
    STATS_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    stats_type: StatsType
    value: float
    def __init__(self, stats_type: _Optional[_Union[StatsType, int, str]] = ..., value: _Optional[float] = ...) -> None: ...

class Histogram(_message.Message):
    __slots__ = ("num_bins", "bin_width", "first_bin_center", "bins", "mean", "std_dev")
    NUM_BINS_FIELD_NUMBER: _ClassVar[int]
    BIN_WIDTH_FIELD_NUMBER: _ClassVar[int]
    FIRST_BIN_CENTER_FIELD_NUMBER: _ClassVar[int]
    BINS_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_DEV_FIELD_NUMBER: _ClassVar[int]
    num_bins: int
    bin_width: float
    first_bin_center: float
    bins: _containers.RepeatedScalarFieldContainer[int]
    mean: float
    std_dev: float
    def __init__(self, num_bins: _Optional[int] = ..., bin_width: _Optional[float] = ..., first_bin_center: _Optional[float] = ..., bins: _Optional[_Iterable[int]] = ..., mean: _Optional[float] = ..., std_dev: _Optional[float] = ...) -> None: ...

class HistogramConfig(_message.Message):
    __slots__ = ("coordinate", "channel", "fixed_num_bins", "num_bins", "fixed_bounds", "bounds")
    COORDINATE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    FIXED_NUM_BINS_FIELD_NUMBER: _ClassVar[int]
    NUM_BINS_FIELD_NUMBER: _ClassVar[int]
    FIXED_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_FIELD_NUMBER: _ClassVar[int]
    coordinate: str
    channel: int
    fixed_num_bins: bool
    num_bins: int
    fixed_bounds: bool
    bounds: DoubleBounds
    def __init__(self, coordinate: _Optional[str] = ..., channel: _Optional[int] = ..., fixed_num_bins: _Optional[bool] = ..., num_bins: _Optional[int] = ..., fixed_bounds: _Optional[bool] = ..., bounds: _Optional[_Union[DoubleBounds, _Mapping]] = ...) -> None: ...

class RegionInfo(_message.Message):
    __slots__ = ("region_type", "control_points", "rotation")
    REGION_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTROL_POINTS_FIELD_NUMBER: _ClassVar[int]
    ROTATION_FIELD_NUMBER: _ClassVar[int]
    region_type: RegionType
    control_points: _containers.RepeatedCompositeFieldContainer[Point]
    rotation: float
    def __init__(self, region_type: _Optional[_Union[RegionType, int, str]] = ..., control_points: _Optional[_Iterable[_Union[Point, _Mapping]]] = ..., rotation: _Optional[float] = ...) -> None: ...

class RegionStyle(_message.Message):
    __slots__ = ("name", "color", "line_width", "dash_list", "annotation_style")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    LINE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    DASH_LIST_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_STYLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    color: str
    line_width: int
    dash_list: _containers.RepeatedScalarFieldContainer[int]
    annotation_style: AnnotationStyle
    def __init__(self, name: _Optional[str] = ..., color: _Optional[str] = ..., line_width: _Optional[int] = ..., dash_list: _Optional[_Iterable[int]] = ..., annotation_style: _Optional[_Union[AnnotationStyle, _Mapping]] = ...) -> None: ...

class AnnotationStyle(_message.Message):
    __slots__ = ("point_shape", "point_width", "text_label0", "text_label1", "coordinate_system", "is_north_arrow", "is_east_arrow", "text_position", "font_style", "font", "font_size")
    POINT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    POINT_WIDTH_FIELD_NUMBER: _ClassVar[int]
    TEXT_LABEL0_FIELD_NUMBER: _ClassVar[int]
    TEXT_LABEL1_FIELD_NUMBER: _ClassVar[int]
    COORDINATE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    IS_NORTH_ARROW_FIELD_NUMBER: _ClassVar[int]
    IS_EAST_ARROW_FIELD_NUMBER: _ClassVar[int]
    TEXT_POSITION_FIELD_NUMBER: _ClassVar[int]
    FONT_STYLE_FIELD_NUMBER: _ClassVar[int]
    FONT_FIELD_NUMBER: _ClassVar[int]
    FONT_SIZE_FIELD_NUMBER: _ClassVar[int]
    point_shape: PointAnnotationShape
    point_width: int
    text_label0: str
    text_label1: str
    coordinate_system: str
    is_north_arrow: bool
    is_east_arrow: bool
    text_position: TextAnnotationPosition
    font_style: str
    font: str
    font_size: int
    def __init__(self, point_shape: _Optional[_Union[PointAnnotationShape, int, str]] = ..., point_width: _Optional[int] = ..., text_label0: _Optional[str] = ..., text_label1: _Optional[str] = ..., coordinate_system: _Optional[str] = ..., is_north_arrow: _Optional[bool] = ..., is_east_arrow: _Optional[bool] = ..., text_position: _Optional[_Union[TextAnnotationPosition, int, str]] = ..., font_style: _Optional[str] = ..., font: _Optional[str] = ..., font_size: _Optional[int] = ...) -> None: ...

class CatalogFileInfo(_message.Message):
    __slots__ = ("name", "type", "file_size", "description", "coosys", "date")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    COOSYS_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: CatalogFileType
    file_size: int
    description: str
    coosys: _containers.RepeatedCompositeFieldContainer[Coosys]
    date: int
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[CatalogFileType, int, str]] = ..., file_size: _Optional[int] = ..., description: _Optional[str] = ..., coosys: _Optional[_Iterable[_Union[Coosys, _Mapping]]] = ..., date: _Optional[int] = ...) -> None: ...

class Coosys(_message.Message):
    __slots__ = ("equinox", "epoch", "system")
    EQUINOX_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    equinox: str
    epoch: str
    system: str
    def __init__(self, equinox: _Optional[str] = ..., epoch: _Optional[str] = ..., system: _Optional[str] = ...) -> None: ...

class CatalogHeader(_message.Message):
    __slots__ = ("name", "data_type", "column_index", "description", "units")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_INDEX_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    data_type: ColumnType
    column_index: int
    description: str
    units: str
    def __init__(self, name: _Optional[str] = ..., data_type: _Optional[_Union[ColumnType, int, str]] = ..., column_index: _Optional[int] = ..., description: _Optional[str] = ..., units: _Optional[str] = ...) -> None: ...

class ColumnData(_message.Message):
    __slots__ = ("data_type", "string_data", "binary_data")
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    STRING_DATA_FIELD_NUMBER: _ClassVar[int]
    BINARY_DATA_FIELD_NUMBER: _ClassVar[int]
    data_type: ColumnType
    string_data: _containers.RepeatedScalarFieldContainer[str]
    binary_data: bytes
    def __init__(self, data_type: _Optional[_Union[ColumnType, int, str]] = ..., string_data: _Optional[_Iterable[str]] = ..., binary_data: _Optional[bytes] = ...) -> None: ...

class FilterConfig(_message.Message):
    __slots__ = ("column_name", "comparison_operator", "value", "secondary_value", "sub_string")
    COLUMN_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SECONDARY_VALUE_FIELD_NUMBER: _ClassVar[int]
    SUB_STRING_FIELD_NUMBER: _ClassVar[int]
    column_name: str
    comparison_operator: ComparisonOperator
    value: float
    secondary_value: float
    sub_string: str
    def __init__(self, column_name: _Optional[str] = ..., comparison_operator: _Optional[_Union[ComparisonOperator, int, str]] = ..., value: _Optional[float] = ..., secondary_value: _Optional[float] = ..., sub_string: _Optional[str] = ...) -> None: ...

class CatalogImageBounds(_message.Message):
    __slots__ = ("x_column_name", "y_column_name", "image_bounds")
    X_COLUMN_NAME_FIELD_NUMBER: _ClassVar[int]
    Y_COLUMN_NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    x_column_name: str
    y_column_name: str
    image_bounds: ImageBounds
    def __init__(self, x_column_name: _Optional[str] = ..., y_column_name: _Optional[str] = ..., image_bounds: _Optional[_Union[ImageBounds, _Mapping]] = ...) -> None: ...

class MatchedFrameList(_message.Message):
    __slots__ = ("frame_numbers",)
    FRAME_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    frame_numbers: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, frame_numbers: _Optional[_Iterable[float]] = ...) -> None: ...

class Beam(_message.Message):
    __slots__ = ("channel", "stokes", "major_axis", "minor_axis", "pa")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    MAJOR_AXIS_FIELD_NUMBER: _ClassVar[int]
    MINOR_AXIS_FIELD_NUMBER: _ClassVar[int]
    PA_FIELD_NUMBER: _ClassVar[int]
    channel: int
    stokes: int
    major_axis: float
    minor_axis: float
    pa: float
    def __init__(self, channel: _Optional[int] = ..., stokes: _Optional[int] = ..., major_axis: _Optional[float] = ..., minor_axis: _Optional[float] = ..., pa: _Optional[float] = ...) -> None: ...

class ListProgress(_message.Message):
    __slots__ = ("file_list_type", "percentage", "checked_count", "total_count")
    FILE_LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    file_list_type: FileListType
    percentage: float
    checked_count: int
    total_count: int
    def __init__(self, file_list_type: _Optional[_Union[FileListType, int, str]] = ..., percentage: _Optional[float] = ..., checked_count: _Optional[int] = ..., total_count: _Optional[int] = ...) -> None: ...

class TileData(_message.Message):
    __slots__ = ("layer", "x", "y", "width", "height", "image_data", "nan_encodings", "mip")
    LAYER_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DATA_FIELD_NUMBER: _ClassVar[int]
    NAN_ENCODINGS_FIELD_NUMBER: _ClassVar[int]
    MIP_FIELD_NUMBER: _ClassVar[int]
    layer: int
    x: int
    y: int
    width: int
    height: int
    image_data: bytes
    nan_encodings: bytes
    mip: int
    def __init__(self, layer: _Optional[int] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., image_data: _Optional[bytes] = ..., nan_encodings: _Optional[bytes] = ..., mip: _Optional[int] = ...) -> None: ...

class GaussianComponent(_message.Message):
    __slots__ = ("center", "amp", "fwhm", "pa")
    CENTER_FIELD_NUMBER: _ClassVar[int]
    AMP_FIELD_NUMBER: _ClassVar[int]
    FWHM_FIELD_NUMBER: _ClassVar[int]
    PA_FIELD_NUMBER: _ClassVar[int]
    center: DoublePoint
    amp: float
    fwhm: DoublePoint
    pa: float
    def __init__(self, center: _Optional[_Union[DoublePoint, _Mapping]] = ..., amp: _Optional[float] = ..., fwhm: _Optional[_Union[DoublePoint, _Mapping]] = ..., pa: _Optional[float] = ...) -> None: ...

class PvPreviewSettings(_message.Message):
    __slots__ = ("preview_id", "region_id", "rebin_xy", "rebin_z", "compression_type", "image_compression_quality", "animation_compression_quality")
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    REBIN_XY_FIELD_NUMBER: _ClassVar[int]
    REBIN_Z_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    ANIMATION_COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    preview_id: int
    region_id: int
    rebin_xy: int
    rebin_z: int
    compression_type: CompressionType
    image_compression_quality: float
    animation_compression_quality: float
    def __init__(self, preview_id: _Optional[int] = ..., region_id: _Optional[int] = ..., rebin_xy: _Optional[int] = ..., rebin_z: _Optional[int] = ..., compression_type: _Optional[_Union[CompressionType, int, str]] = ..., image_compression_quality: _Optional[float] = ..., animation_compression_quality: _Optional[float] = ...) -> None: ...

class CatalogFilterRequest(_message.Message):
    __slots__ = ("file_id", "column_indices", "filter_configs", "subset_data_size", "subset_start_index", "image_bounds", "image_file_id", "region_id", "sort_column", "sorting_type")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    COLUMN_INDICES_FIELD_NUMBER: _ClassVar[int]
    FILTER_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    SUBSET_DATA_SIZE_FIELD_NUMBER: _ClassVar[int]
    SUBSET_START_INDEX_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    SORT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    SORTING_TYPE_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    column_indices: _containers.RepeatedScalarFieldContainer[int]
    filter_configs: _containers.RepeatedCompositeFieldContainer[FilterConfig]
    subset_data_size: int
    subset_start_index: int
    image_bounds: CatalogImageBounds
    image_file_id: int
    region_id: int
    sort_column: str
    sorting_type: SortingType
    def __init__(self, file_id: _Optional[int] = ..., column_indices: _Optional[_Iterable[int]] = ..., filter_configs: _Optional[_Iterable[_Union[FilterConfig, _Mapping]]] = ..., subset_data_size: _Optional[int] = ..., subset_start_index: _Optional[int] = ..., image_bounds: _Optional[_Union[CatalogImageBounds, _Mapping]] = ..., image_file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., sort_column: _Optional[str] = ..., sorting_type: _Optional[_Union[SortingType, int, str]] = ...) -> None: ...

class CatalogFilterResponse(_message.Message):
    __slots__ = ("file_id", "image_file_id", "region_id", "columns", "subset_data_size", "subset_end_index", "progress", "filter_data_size", "request_end_index")
    class ColumnsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: ColumnData
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[ColumnData, _Mapping]] = ...) -> None: ...
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    SUBSET_DATA_SIZE_FIELD_NUMBER: _ClassVar[int]
    SUBSET_END_INDEX_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FILTER_DATA_SIZE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_END_INDEX_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    image_file_id: int
    region_id: int
    columns: _containers.MessageMap[int, ColumnData]
    subset_data_size: int
    subset_end_index: int
    progress: float
    filter_data_size: int
    request_end_index: int
    def __init__(self, file_id: _Optional[int] = ..., image_file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., columns: _Optional[_Mapping[int, ColumnData]] = ..., subset_data_size: _Optional[int] = ..., subset_end_index: _Optional[int] = ..., progress: _Optional[float] = ..., filter_data_size: _Optional[int] = ..., request_end_index: _Optional[int] = ...) -> None: ...

class ContourImageData(_message.Message):
    __slots__ = ("file_id", "reference_file_id", "image_bounds", "channel", "stokes", "contour_sets", "progress")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    CONTOUR_SETS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    reference_file_id: int
    image_bounds: ImageBounds
    channel: int
    stokes: int
    contour_sets: _containers.RepeatedCompositeFieldContainer[ContourSet]
    progress: float
    def __init__(self, file_id: _Optional[int] = ..., reference_file_id: _Optional[int] = ..., image_bounds: _Optional[_Union[ImageBounds, _Mapping]] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., contour_sets: _Optional[_Iterable[_Union[ContourSet, _Mapping]]] = ..., progress: _Optional[float] = ...) -> None: ...

class ContourSet(_message.Message):
    __slots__ = ("level", "decimation_factor", "raw_coordinates", "raw_start_indices", "uncompressed_coordinates_size")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DECIMATION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    RAW_COORDINATES_FIELD_NUMBER: _ClassVar[int]
    RAW_START_INDICES_FIELD_NUMBER: _ClassVar[int]
    UNCOMPRESSED_COORDINATES_SIZE_FIELD_NUMBER: _ClassVar[int]
    level: float
    decimation_factor: int
    raw_coordinates: bytes
    raw_start_indices: bytes
    uncompressed_coordinates_size: int
    def __init__(self, level: _Optional[float] = ..., decimation_factor: _Optional[int] = ..., raw_coordinates: _Optional[bytes] = ..., raw_start_indices: _Optional[bytes] = ..., uncompressed_coordinates_size: _Optional[int] = ...) -> None: ...

class ErrorData(_message.Message):
    __slots__ = ("severity", "tags", "message", "data")
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    severity: ErrorSeverity
    tags: _containers.RepeatedScalarFieldContainer[str]
    message: str
    data: str
    def __init__(self, severity: _Optional[_Union[ErrorSeverity, int, str]] = ..., tags: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., data: _Optional[str] = ...) -> None: ...

class PvPreviewData(_message.Message):
    __slots__ = ("preview_id", "image_info", "image_data", "nan_encodings", "width", "height", "compression_type", "compression_quality", "histogram_bounds", "histogram")
    PREVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_INFO_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DATA_FIELD_NUMBER: _ClassVar[int]
    NAN_ENCODINGS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAM_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    preview_id: int
    image_info: FileInfoExtended
    image_data: bytes
    nan_encodings: bytes
    width: int
    height: int
    compression_type: CompressionType
    compression_quality: float
    histogram_bounds: FloatBounds
    histogram: Histogram
    def __init__(self, preview_id: _Optional[int] = ..., image_info: _Optional[_Union[FileInfoExtended, _Mapping]] = ..., image_data: _Optional[bytes] = ..., nan_encodings: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., compression_type: _Optional[_Union[CompressionType, int, str]] = ..., compression_quality: _Optional[float] = ..., histogram_bounds: _Optional[_Union[FloatBounds, _Mapping]] = ..., histogram: _Optional[_Union[Histogram, _Mapping]] = ...) -> None: ...

class RasterTileSync(_message.Message):
    __slots__ = ("file_id", "channel", "stokes", "sync_id", "animation_id", "tile_count", "end_sync")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    ANIMATION_ID_FIELD_NUMBER: _ClassVar[int]
    TILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    END_SYNC_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    channel: int
    stokes: int
    sync_id: int
    animation_id: int
    tile_count: int
    end_sync: bool
    def __init__(self, file_id: _Optional[int] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., sync_id: _Optional[int] = ..., animation_id: _Optional[int] = ..., tile_count: _Optional[int] = ..., end_sync: _Optional[bool] = ...) -> None: ...

class RasterTileData(_message.Message):
    __slots__ = ("file_id", "channel", "stokes", "compression_type", "compression_quality", "sync_id", "animation_id", "tiles")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    ANIMATION_ID_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    channel: int
    stokes: int
    compression_type: CompressionType
    compression_quality: float
    sync_id: int
    animation_id: int
    tiles: _containers.RepeatedCompositeFieldContainer[TileData]
    def __init__(self, file_id: _Optional[int] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., compression_type: _Optional[_Union[CompressionType, int, str]] = ..., compression_quality: _Optional[float] = ..., sync_id: _Optional[int] = ..., animation_id: _Optional[int] = ..., tiles: _Optional[_Iterable[_Union[TileData, _Mapping]]] = ...) -> None: ...

class RegionHistogramData(_message.Message):
    __slots__ = ("file_id", "region_id", "channel", "stokes", "histograms", "progress", "config")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAMS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    channel: int
    stokes: int
    histograms: Histogram
    progress: float
    config: HistogramConfig
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., histograms: _Optional[_Union[Histogram, _Mapping]] = ..., progress: _Optional[float] = ..., config: _Optional[_Union[HistogramConfig, _Mapping]] = ...) -> None: ...

class RegionStatsData(_message.Message):
    __slots__ = ("file_id", "region_id", "channel", "stokes", "statistics")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    channel: int
    stokes: int
    statistics: _containers.RepeatedCompositeFieldContainer[StatisticsValue]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., statistics: _Optional[_Iterable[_Union[StatisticsValue, _Mapping]]] = ...) -> None: ...

class SpatialProfileData(_message.Message):
    __slots__ = ("file_id", "region_id", "x", "y", "channel", "stokes", "value", "profiles")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    x: int
    y: int
    channel: int
    stokes: int
    value: float
    profiles: _containers.RepeatedCompositeFieldContainer[SpatialProfile]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., channel: _Optional[int] = ..., stokes: _Optional[int] = ..., value: _Optional[float] = ..., profiles: _Optional[_Iterable[_Union[SpatialProfile, _Mapping]]] = ...) -> None: ...

class SpectralProfileData(_message.Message):
    __slots__ = ("file_id", "region_id", "stokes", "progress", "profiles")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    STOKES_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    region_id: int
    stokes: int
    progress: float
    profiles: _containers.RepeatedCompositeFieldContainer[SpectralProfile]
    def __init__(self, file_id: _Optional[int] = ..., region_id: _Optional[int] = ..., stokes: _Optional[int] = ..., progress: _Optional[float] = ..., profiles: _Optional[_Iterable[_Union[SpectralProfile, _Mapping]]] = ...) -> None: ...

class VectorOverlayTileData(_message.Message):
    __slots__ = ("file_id", "channel", "stokes_intensity", "stokes_angle", "compression_type", "compression_quality", "intensity_tiles", "angle_tiles", "progress")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STOKES_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    STOKES_ANGLE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_TILES_FIELD_NUMBER: _ClassVar[int]
    ANGLE_TILES_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    file_id: int
    channel: int
    stokes_intensity: int
    stokes_angle: int
    compression_type: CompressionType
    compression_quality: float
    intensity_tiles: _containers.RepeatedCompositeFieldContainer[TileData]
    angle_tiles: _containers.RepeatedCompositeFieldContainer[TileData]
    progress: float
    def __init__(self, file_id: _Optional[int] = ..., channel: _Optional[int] = ..., stokes_intensity: _Optional[int] = ..., stokes_angle: _Optional[int] = ..., compression_type: _Optional[_Union[CompressionType, int, str]] = ..., compression_quality: _Optional[float] = ..., intensity_tiles: _Optional[_Iterable[_Union[TileData, _Mapping]]] = ..., angle_tiles: _Optional[_Iterable[_Union[TileData, _Mapping]]] = ..., progress: _Optional[float] = ...) -> None: ...
