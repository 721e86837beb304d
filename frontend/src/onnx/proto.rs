//! The ONNX protobuf messages (`onnx.proto` and `onnx-data.proto`, IR
//! version 14 as shipped by onnx 1.23), written by hand as prost messages so
//! no `protoc` runs at build time.
//!
//! Field numbers, names and nesting follow the `.proto` files; nested types
//! live in snake_case modules as prost-build would put them
//! (`tensor_proto::DataType`, `type_proto::Value`). The files are proto2, but
//! singular scalar fields are plain values, not `Option`s: ONNX gives none of
//! them a meaning for "absent" that differs from the default, and plain
//! fields keep importer code short (`node.op_type`, not `node.op_type()`).
//! Where presence does matter, the `.proto` uses a `oneof` or a message field,
//! and those stay `Option`s. Repeated numeric fields are packed only where the
//! `.proto` says `[packed = true]`; decoding accepts both forms regardless.
//! Unknown fields are skipped on decoding, so models from a newer ONNX load.
//!
//! Enum-typed fields hold the raw `i32` (prost's convention), so a code from a
//! newer ONNX survives; the generated getter (`attr.r#type()`) maps unknown
//! codes to the enum's default. `TensorProto::data_type` is an `int32` in the
//! `.proto` itself; `tensor_proto::DataType::try_from(code)` reads it. Fields
//! and enum values carry the `.proto`'s names.

/// `onnx.Version`: the IR versions ONNX has defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Version {
    /// Placeholder for proto3 compatibility; not a real IR version.
    StartVersion = 0,
    /// IR version 1 (released 2017-10-10).
    IrVersion2017_10_10 = 1,
    /// IR version 2 (released 2017-10-30).
    IrVersion2017_10_30 = 2,
    /// IR version 3 (released 2017-11-3).
    IrVersion2017_11_3 = 3,
    /// IR version 4 (released 2019-1-22).
    IrVersion2019_1_22 = 4,
    /// IR version 5 (released 2019-3-18).
    IrVersion2019_3_18 = 5,
    /// IR version 6 (released 2019-9-19).
    IrVersion2019_9_19 = 6,
    /// IR version 7 (released 2020-5-8).
    IrVersion2020_5_8 = 7,
    /// IR version 8 (released 2021-7-30).
    IrVersion2021_7_30 = 8,
    /// IR version 9 (released 2023-5-5).
    IrVersion2023_5_5 = 9,
    /// IR version 10 (released 2024-3-25).
    IrVersion2024_3_25 = 10,
    /// IR version 11 (released 2025-05-12).
    IrVersion2025_05_12 = 11,
    /// IR version 12 (released 2025-08-26).
    IrVersion2025_08_26 = 12,
    /// IR version 13 (released 2025-11-06).
    IrVersion2025_11_06 = 13,
    /// The IR version of onnx 1.23.
    IrVersion = 14,
}

/// A named attribute of a node: a single value of one of the
/// [`attribute_proto::AttributeType`]s, or a reference to an attribute of the
/// enclosing function (`ref_attr_name`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name, unique within its node.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value of an INT attribute.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// UTF-8 string (bytes on the wire).
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// The value of a TENSOR attribute.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// The value of a GRAPH attribute (a subgraph: `If` branches, `Loop` body).
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    /// The value of a FLOATS attribute.
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    /// The value of an INTS attribute.
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// The value of a STRINGS attribute (UTF-8 bytes each).
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// The value of a TENSORS attribute.
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    /// The value of a GRAPHS attribute.
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "13")]
    pub doc_string: String,
    /// The value of a TYPE_PROTO attribute.
    #[prost(message, optional, tag = "14")]
    pub tp: Option<TypeProto>,
    /// The value of a TYPE_PROTOS attribute.
    #[prost(message, repeated, tag = "15")]
    pub type_protos: Vec<TypeProto>,
    /// Which of the value fields below is in use ([`attribute_proto::AttributeType`]).
    #[prost(enumeration = "attribute_proto::AttributeType", tag = "20")]
    pub r#type: i32,
    /// The value of a FLOAT attribute.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// Inside a function body: the name of the function's attribute this one takes its value from.
    #[prost(string, tag = "21")]
    pub ref_attr_name: String,
    /// The value of a SPARSE_TENSOR attribute.
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    /// The value of a SPARSE_TENSORS attribute.
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
}

/// Nested types of [`AttributeProto`].
pub mod attribute_proto {
    /// The kind of value an attribute holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum AttributeType {
        /// No type given (IR version < 2): infer it from the field that is set.
        Undefined = 0,
        /// `f`.
        Float = 1,
        /// `i`.
        Int = 2,
        /// `s`.
        String = 3,
        /// `t`.
        Tensor = 4,
        /// `g`.
        Graph = 5,
        /// `sparse_tensor`.
        SparseTensor = 11,
        /// `tp`.
        TypeProto = 13,
        /// `floats`.
        Floats = 6,
        /// `ints`.
        Ints = 7,
        /// `strings`.
        Strings = 8,
        /// `tensors`.
        Tensors = 9,
        /// `graphs`.
        Graphs = 10,
        /// `sparse_tensors`.
        SparseTensors = 12,
        /// `type_protos`.
        TypeProtos = 14,
    }
}

/// The name and (optionally) type of a graph input, output or intermediate value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name, unique within the graph and its enclosing graphs.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type; may be absent for intermediate values.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "3")]
    pub doc_string: String,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "4")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// One operator application. An empty string among `input`/`output` is an
/// omitted optional input/output.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Names of the input values, in operator-signature order.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Names of the output values, in operator-signature order.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name (optional in ONNX; may be empty).
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator (`Conv`, `Gemm`) or model-local function it calls.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// The operator's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The operator set domain; `""` and `"ai.onnx"` are the default domain.
    #[prost(string, tag = "7")]
    pub domain: String,
    /// Selects among overloaded model-local functions of the same name.
    #[prost(string, tag = "8")]
    pub overload: String,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "9")]
    pub metadata_props: Vec<StringStringEntryProto>,
    /// How the node is distributed over devices (multi-device models).
    #[prost(message, repeated, tag = "10")]
    pub device_configurations: Vec<NodeDeviceConfigurationProto>,
}

/// A key with a list of ints (sharding: an index to a device group).
#[derive(Clone, PartialEq, prost::Message)]
pub struct IntIntListEntryProto {
    /// The key.
    #[prost(int64, tag = "1")]
    pub key: i64,
    /// The ints it maps to.
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub value: Vec<i64>,
}

/// How a node is distributed over the devices of a [`DeviceConfigurationProto`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDeviceConfigurationProto {
    /// The `DeviceConfigurationProto` this refers to.
    #[prost(string, tag = "1")]
    pub configuration_id: String,
    /// How each input/output tensor is sharded.
    #[prost(message, repeated, tag = "2")]
    pub sharding_spec: Vec<ShardingSpecProto>,
    /// The pipeline stage the node runs in.
    #[prost(int32, tag = "3")]
    pub pipeline_stage: i32,
}

/// How one tensor of a node is sharded over devices.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShardingSpecProto {
    /// The input or output tensor this spec describes.
    #[prost(string, tag = "1")]
    pub tensor_name: String,
    /// Device ids, or group ids when `index_to_device_group_map` is used.
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub device: Vec<i64>,
    /// Maps group ids in `device` to lists of devices.
    #[prost(message, repeated, tag = "3")]
    pub index_to_device_group_map: Vec<IntIntListEntryProto>,
    /// The sharded axes.
    #[prost(message, repeated, tag = "4")]
    pub sharded_dim: Vec<ShardedDimProto>,
}

/// How one axis of a tensor is sharded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShardedDimProto {
    /// The sharded axis.
    #[prost(int64, tag = "1")]
    pub axis: i64,
    /// How the axis is split.
    #[prost(message, repeated, tag = "2")]
    pub simple_sharding: Vec<SimpleShardedDimProto>,
}

/// An axis (or a part of it) split into equal shards.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SimpleShardedDimProto {
    /// The size of the axis or the part of it being sharded.
    #[prost(oneof = "simple_sharded_dim_proto::Dim", tags = "1, 2")]
    pub dim: Option<simple_sharded_dim_proto::Dim>,
    /// Into how many shards it is split.
    #[prost(int64, tag = "3")]
    pub num_shards: i64,
}

/// Nested types of [`SimpleShardedDimProto`].
pub mod simple_sharded_dim_proto {
    /// The size of the sharded axis.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Dim {
        /// A static size.
        #[prost(int64, tag = "1")]
        DimValue(i64),
        /// A symbolic size.
        #[prost(string, tag = "2")]
        DimParam(String),
    }
}

/// A training graph pair (initialization and algorithm); tessera reads it
/// only so that a model carrying one round-trips.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrainingInfoProto {
    /// Run once to initialise training state.
    #[prost(message, optional, tag = "1")]
    pub initialization: Option<GraphProto>,
    /// One training step.
    #[prost(message, optional, tag = "2")]
    pub algorithm: Option<GraphProto>,
    /// Initializers assigned by `initialization`.
    #[prost(message, repeated, tag = "3")]
    pub initialization_binding: Vec<StringStringEntryProto>,
    /// Initializers assigned by `algorithm`.
    #[prost(message, repeated, tag = "4")]
    pub update_binding: Vec<StringStringEntryProto>,
}

/// A model: the top-level message of a `.onnx` file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version the model follows ([`Version`]).
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The tool that wrote the model (`pytorch`, `tf2onnx`).
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// That tool's version.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// A reverse-DNS namespace for the model.
    #[prost(string, tag = "4")]
    pub domain: String,
    /// The model's own version number.
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    /// Human-readable documentation.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The model's main graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// The operator set version of each domain the graph uses.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
    /// Training graphs, if the model carries any.
    #[prost(message, repeated, tag = "20")]
    pub training_info: Vec<TrainingInfoProto>,
    /// Model-local functions, called by nodes whose `(domain, op_type)` match.
    #[prost(message, repeated, tag = "25")]
    pub functions: Vec<FunctionProto>,
    /// Device configurations for multi-device execution.
    #[prost(message, repeated, tag = "26")]
    pub configuration: Vec<DeviceConfigurationProto>,
}

/// A named set of devices a model may be distributed over.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceConfigurationProto {
    /// The configuration's name, referenced by nodes.
    #[prost(string, tag = "1")]
    pub name: String,
    /// How many devices it spans.
    #[prost(int32, tag = "2")]
    pub num_devices: i32,
    /// Optional device names.
    #[prost(string, repeated, tag = "3")]
    pub device: Vec<String>,
}

/// A string key and value (metadata, external-data locations).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// Quantisation parameters attached to a tensor by name.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorAnnotation {
    /// The annotated tensor.
    #[prost(string, tag = "1")]
    pub tensor_name: String,
    /// Keys (`SCALE_TENSOR`, `ZERO_POINT_TENSOR`) to the names of tensors holding the parameters.
    #[prost(message, repeated, tag = "2")]
    pub quant_parameter_tensor_names: Vec<StringStringEntryProto>,
}

/// A graph: nodes in topological order, initializers (named constant
/// tensors), inputs, outputs and optional type annotations of intermediates.
/// Before IR version 4 every initializer must also be listed as an input.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, topologically sorted.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Named constant tensors (weights); before IR 4 each must also be an input.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The graph's inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Types of intermediate values, where known.
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
    /// Quantisation parameters of tensors.
    #[prost(message, repeated, tag = "14")]
    pub quantization_annotation: Vec<TensorAnnotation>,
    /// Named constant sparse tensors.
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A dense tensor: dims, an element type, and the elements either in
/// `raw_data` (little-endian, row-major) or in the typed field for the
/// element type, or in an external file (`data_location = EXTERNAL`).
///
/// Which typed field holds which element type: `float_data` FLOAT (and the
/// parts of COMPLEX64); `int32_data` INT32, INT16, INT8, UINT16, UINT8, BOOL,
/// FLOAT16 and BFLOAT16 (as bit patterns), the float8/float4 types and the
/// 4-/2-bit ints; `int64_data` INT64; `double_data` DOUBLE (and COMPLEX128);
/// `uint64_data` UINT32 and UINT64; `string_data` STRING.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The shape; empty for a scalar.
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type, a [`tensor_proto::DataType`] code.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// Deprecated: a chunk of a larger tensor.
    #[prost(message, optional, tag = "3")]
    pub segment: Option<tensor_proto::Segment>,
    /// FLOAT elements (and COMPLEX64 as real/imaginary pairs).
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// INT32, INT16, INT8, UINT16, UINT8, BOOL elements; FLOAT16/BFLOAT16 and 8-bit-or-smaller float/int types as bit patterns.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// STRING elements (bytes each).
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_data: Vec<Vec<u8>>,
    /// INT64 elements.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// The tensor's name (an initializer's value name).
    #[prost(string, tag = "8")]
    pub name: String,
    /// The elements as little-endian bytes, row-major (bools one byte each;
    /// sub-byte types packed two or four to a byte).
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// DOUBLE elements (and COMPLEX128 as pairs).
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    /// UINT32 and UINT64 elements.
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    /// Human-readable documentation.
    #[prost(string, tag = "12")]
    pub doc_string: String,
    /// Where the data lives when `data_location` is EXTERNAL: keys `location`
    /// (a path relative to the model's folder), `offset`, `length`, `checksum`.
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// A [`tensor_proto::DataLocation`].
    #[prost(enumeration = "tensor_proto::DataLocation", tag = "14")]
    pub data_location: i32,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// Nested types of [`TensorProto`].
pub mod tensor_proto {
    /// Element type codes of `TensorProto::data_type` (and of
    /// `TypeProto.Tensor.elem_type`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        /// No element type.
        Undefined = 0,
        /// f32.
        Float = 1,
        /// u8.
        Uint8 = 2,
        /// i8.
        Int8 = 3,
        /// u16.
        Uint16 = 4,
        /// i16.
        Int16 = 5,
        /// i32.
        Int32 = 6,
        /// i64.
        Int64 = 7,
        /// Byte strings.
        String = 8,
        /// Booleans, one byte each.
        Bool = 9,
        /// IEEE half precision.
        Float16 = 10,
        /// f64.
        Double = 11,
        /// u32.
        Uint32 = 12,
        /// u64.
        Uint64 = 13,
        /// Complex with f32 parts.
        Complex64 = 14,
        /// Complex with f64 parts.
        Complex128 = 15,
        /// bfloat16.
        Bfloat16 = 16,
        /// 8-bit float, 4 exponent bits, NaN but no infinity.
        Float8e4m3fn = 17,
        /// 8-bit float, 4 exponent bits, no infinity, no negative zero.
        Float8e4m3fnuz = 18,
        /// 8-bit float, 5 exponent bits (IEEE-like).
        Float8e5m2 = 19,
        /// 8-bit float, 5 exponent bits, no infinity, no negative zero.
        Float8e5m2fnuz = 20,
        /// 4-bit unsigned integer, two per byte.
        Uint4 = 21,
        /// 4-bit signed integer, two per byte.
        Int4 = 22,
        /// 4-bit float, two per byte.
        Float4e2m1 = 23,
        /// 8-bit exponent-only float (scales).
        Float8e8m0 = 24,
        /// 2-bit unsigned integer, four per byte.
        Uint2 = 25,
        /// 2-bit signed integer, four per byte.
        Int2 = 26,
        /// 6-bit float, 2 exponent bits.
        Float6e2m3 = 27,
        /// 6-bit float, 3 exponent bits.
        Float6e3m2 = 28,
    }

    /// Deprecated: the element range `[begin, end)` a segment covers.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Segment {
        /// First element index.
        #[prost(int64, tag = "1")]
        pub begin: i64,
        /// One past the last element index.
        #[prost(int64, tag = "2")]
        pub end: i64,
    }

    /// Where a tensor's data is stored.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataLocation {
        /// In the message itself (`raw_data` or a typed field).
        Default = 0,
        /// In a file named by `external_data`.
        External = 1,
    }
}

/// A sparse tensor in COO form: `values` (1-D, NNZ elements) at `indices`
/// (`[NNZ, rank]` or linearised `[NNZ]`, INT64).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SparseTensorProto {
    /// The non-zero values, 1-D.
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    /// Their INT64 indices: `[NNZ, rank]`, or linearised `[NNZ]`.
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
    /// The dense shape.
    #[prost(int64, repeated, packed = "false", tag = "3")]
    pub dims: Vec<i64>,
}

/// A tensor shape whose dims may be symbolic or unknown.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// One entry per axis.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// Nested types of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dim: a size, a symbol, or neither (unknown).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// The size or symbol; absent when unknown.
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
        /// A standard name for the axis (`DATA_BATCH`), rarely used.
        #[prost(string, tag = "3")]
        pub denotation: String,
    }

    /// Nested types of [`Dimension`].
    pub mod dimension {
        /// A dim's size or its symbol.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A static size.
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbol; equal names mean equal sizes within a graph.
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}

/// The type of a value: a tensor, sequence, map, optional, sparse tensor or opaque.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// Which kind of type; absent when unknown.
    #[prost(oneof = "type_proto::Value", tags = "1, 4, 5, 9, 8, 7")]
    pub value: Option<type_proto::Value>,
    /// A standard name for the value's meaning (`IMAGE`), rarely used.
    #[prost(string, tag = "6")]
    pub denotation: String,
}

/// Nested types of [`TypeProto`].
pub mod type_proto {
    use super::{TensorShapeProto, TypeProto};

    /// A dense tensor type; an absent shape means the rank is unknown.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// A [`super::tensor_proto::DataType`] code.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; absent when the rank is unknown.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    /// A sequence of values of one type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sequence {
        /// The element type.
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<TypeProto>>,
    }

    /// A map from an integer or string key type to values of one type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Map {
        /// A [`super::tensor_proto::DataType`] code (an integer type or STRING).
        #[prost(int32, tag = "1")]
        pub key_type: i32,
        /// The value type.
        #[prost(message, optional, boxed, tag = "2")]
        pub value_type: Option<Box<TypeProto>>,
    }

    /// A value that may be absent.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Optional {
        /// The type of the value when present.
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<TypeProto>>,
    }

    /// A sparse tensor type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SparseTensor {
        /// A [`super::tensor_proto::DataType`] code.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; absent when the rank is unknown.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    /// A type opaque to ONNX, named by domain and name.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Opaque {
        /// The domain of the type's name.
        #[prost(string, tag = "1")]
        pub domain: String,
        /// The type's name.
        #[prost(string, tag = "2")]
        pub name: String,
    }

    /// Which kind of type this is.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A dense tensor.
        #[prost(message, tag = "1")]
        TensorType(Tensor),
        /// A sequence.
        #[prost(message, tag = "4")]
        SequenceType(Sequence),
        /// A map.
        #[prost(message, tag = "5")]
        MapType(Map),
        /// An optional.
        #[prost(message, tag = "9")]
        OptionalType(Optional),
        /// A sparse tensor.
        #[prost(message, tag = "8")]
        SparseTensorType(SparseTensor),
        /// An opaque type.
        #[prost(message, tag = "7")]
        OpaqueType(Opaque),
    }
}

/// An operator set a model or function uses: a domain and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// `""` (or `"ai.onnx"`) is the default domain.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The operator set version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// Whether an operator is experimental (legacy; kept for completeness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OperatorStatus {
    /// Experimental.
    Experimental = 0,
    /// Stable.
    Stable = 1,
}

/// A model-local function: a node list with formal inputs, outputs and
/// attributes, called by nodes with its `domain` and `name` as op type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionProto {
    /// The function's name: the `op_type` of the nodes calling it.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Formal input names.
    #[prost(string, repeated, tag = "4")]
    pub input: Vec<String>,
    /// Formal output names.
    #[prost(string, repeated, tag = "5")]
    pub output: Vec<String>,
    /// Names of attributes without a default value.
    #[prost(string, repeated, tag = "6")]
    pub attribute: Vec<String>,
    /// The body, topologically sorted.
    #[prost(message, repeated, tag = "7")]
    pub node: Vec<NodeProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "8")]
    pub doc_string: String,
    /// The operator sets the body uses.
    #[prost(message, repeated, tag = "9")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The domain of the nodes calling it.
    #[prost(string, tag = "10")]
    pub domain: String,
    /// Attributes with a default value.
    #[prost(message, repeated, tag = "11")]
    pub attribute_proto: Vec<AttributeProto>,
    /// Types of values in the body, where known.
    #[prost(message, repeated, tag = "12")]
    pub value_info: Vec<ValueInfoProto>,
    /// Distinguishes functions with the same domain and name.
    #[prost(string, tag = "13")]
    pub overload: String,
    /// Free-form key/value metadata.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

// ---- onnx-data.proto: the values of test-data files that are not tensors ----

/// A sequence value (`onnx-data.proto`), as in a test-data `input_<i>.pb`
/// whose graph input has a sequence type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SequenceProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// A [`sequence_proto::DataType`]: which of the value lists is used.
    #[prost(int32, tag = "2")]
    pub elem_type: i32,
    /// Elements when `elem_type` is TENSOR.
    #[prost(message, repeated, tag = "3")]
    pub tensor_values: Vec<TensorProto>,
    /// Elements when `elem_type` is SPARSE_TENSOR.
    #[prost(message, repeated, tag = "4")]
    pub sparse_tensor_values: Vec<SparseTensorProto>,
    /// Elements when `elem_type` is SEQUENCE.
    #[prost(message, repeated, tag = "5")]
    pub sequence_values: Vec<SequenceProto>,
    /// Elements when `elem_type` is MAP.
    #[prost(message, repeated, tag = "6")]
    pub map_values: Vec<MapProto>,
    /// Elements when `elem_type` is OPTIONAL.
    #[prost(message, repeated, tag = "7")]
    pub optional_values: Vec<OptionalProto>,
}

/// Nested types of [`SequenceProto`].
pub mod sequence_proto {
    /// The kind of element a sequence holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        /// None (an empty optional).
        Undefined = 0,
        /// A tensor.
        Tensor = 1,
        /// A sparse tensor.
        SparseTensor = 2,
        /// A sequence.
        Sequence = 3,
        /// A map.
        Map = 4,
        /// An optional.
        Optional = 5,
    }
}

/// A map value (`onnx-data.proto`): integer or string keys and a sequence of values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MapProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// A [`tensor_proto::DataType`] code of the keys.
    #[prost(int32, tag = "2")]
    pub key_type: i32,
    /// Integer keys.
    #[prost(int64, repeated, packed = "false", tag = "3")]
    pub keys: Vec<i64>,
    /// String keys.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub string_keys: Vec<Vec<u8>>,
    /// The values, one per key.
    #[prost(message, optional, tag = "5")]
    pub values: Option<SequenceProto>,
}

/// An optional value (`onnx-data.proto`): one element, or none when
/// `elem_type` is UNDEFINED.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OptionalProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// An [`optional_proto::DataType`]: which value field is used.
    #[prost(int32, tag = "2")]
    pub elem_type: i32,
    /// The value when `elem_type` is TENSOR.
    #[prost(message, optional, tag = "3")]
    pub tensor_value: Option<TensorProto>,
    /// The value when `elem_type` is SPARSE_TENSOR.
    #[prost(message, optional, tag = "4")]
    pub sparse_tensor_value: Option<SparseTensorProto>,
    /// The value when `elem_type` is SEQUENCE.
    #[prost(message, optional, tag = "5")]
    pub sequence_value: Option<SequenceProto>,
    /// The value when `elem_type` is MAP.
    #[prost(message, optional, tag = "6")]
    pub map_value: Option<MapProto>,
    /// The value when `elem_type` is OPTIONAL.
    #[prost(message, optional, boxed, tag = "7")]
    pub optional_value: Option<Box<OptionalProto>>,
}

/// Nested types of [`OptionalProto`].
pub mod optional_proto {
    /// The kind of element an optional holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        /// None (an empty optional).
        Undefined = 0,
        /// A tensor.
        Tensor = 1,
        /// A sparse tensor.
        SparseTensor = 2,
        /// A sequence.
        Sequence = 3,
        /// A map.
        Map = 4,
        /// An optional.
        Optional = 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Bytes written by onnx 1.23's Python `onnx.helper` for a one-node Relu
    /// model with a symbolic batch dim (`make_model(make_graph([make_node("Relu",
    /// ["x"], ["y"], name="r")], "g", [make_tensor_value_info("x", FLOAT, ["N", 3])],
    /// [make_tensor_value_info("y", FLOAT, ["N", 3])]), opset_imports=[make_opsetid("", 14)])`).
    const RELU_MODEL: &[u8] = b"\x08\x0e\x3a\x40\x0a\x0f\x0a\x01\x78\x12\x01\x79\x1a\x01\x72\x22\x04\x52\x65\x6c\x75\
\x12\x01\x67\x5a\x14\x0a\x01\x78\x12\x0f\x0a\x0d\x08\x01\x12\x09\x0a\x03\x12\x01\x4e\x0a\x02\x08\x03\
\x62\x14\x0a\x01\x79\x12\x0f\x0a\x0d\x08\x01\x12\x09\x0a\x03\x12\x01\x4e\x0a\x02\x08\x03\x42\x04\x0a\x00\x10\x0e";

    #[test]
    fn decodes_bytes_written_by_onnx() {
        let m = ModelProto::decode(RELU_MODEL).expect("decodes");
        assert_eq!(m.ir_version, 14);
        assert_eq!(m.opset_import, vec![OperatorSetIdProto { domain: String::new(), version: 14 }]);
        let g = m.graph.expect("graph");
        assert_eq!(g.name, "g");
        assert_eq!(g.node[0].op_type, "Relu");
        assert_eq!(g.node[0].name, "r");
        assert_eq!((g.node[0].input.as_slice(), g.node[0].output.as_slice()), (&["x".to_string()][..], &["y".to_string()][..]));
        let Some(type_proto::Value::TensorType(t)) = g.input[0].r#type.as_ref().and_then(|t| t.value.clone()) else {
            panic!("x has a tensor type")
        };
        assert_eq!(t.elem_type, tensor_proto::DataType::Float as i32);
        let dims: Vec<_> = t.shape.expect("shape").dim.into_iter().map(|d| d.value).collect();
        assert_eq!(
            dims,
            vec![
                Some(tensor_shape_proto::dimension::Value::DimParam("N".into())),
                Some(tensor_shape_proto::dimension::Value::DimValue(3)),
            ]
        );
    }

    #[test]
    fn encoding_round_trips() {
        let m = ModelProto::decode(RELU_MODEL).expect("decodes");
        let again = ModelProto::decode(m.encode_to_vec().as_slice()).expect("re-decodes");
        assert_eq!(m, again);
    }

    #[test]
    fn nested_types_and_attributes_round_trip() {
        let seq_of_float = TypeProto {
            value: Some(type_proto::Value::SequenceType(type_proto::Sequence {
                elem_type: Some(Box::new(TypeProto {
                    value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: 1, shape: None })),
                    denotation: String::new(),
                })),
            })),
            denotation: String::new(),
        };
        let attr = AttributeProto {
            name: "then_branch".into(),
            r#type: attribute_proto::AttributeType::Graph as i32,
            g: Some(GraphProto { name: "then".into(), ..Default::default() }),
            ints: vec![1, -2, 3],
            tp: Some(seq_of_float),
            ..Default::default()
        };
        let back = AttributeProto::decode(attr.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(back, attr);
        assert_eq!(back.r#type(), attribute_proto::AttributeType::Graph);
    }

    #[test]
    fn unpacked_and_packed_repeated_fields_both_decode() {
        // dims = [2, 3] written unpacked (proto2 default), int64_data packed.
        let unpacked = [0x08, 0x02, 0x08, 0x03, 0x10, 0x07, 0x3a, 0x02, 0x05, 0x06];
        let t = TensorProto::decode(&unpacked[..]).expect("decodes");
        assert_eq!(t.dims, vec![2, 3]);
        assert_eq!(t.int64_data, vec![5, 6]);
        // dims written packed also decode.
        let packed = [0x0a, 0x02, 0x02, 0x03];
        assert_eq!(TensorProto::decode(&packed[..]).expect("decodes").dims, vec![2, 3]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(ModelProto::decode(&b"\x3a\xff\xff\xff\xff\x0f"[..]).is_err());
        assert!(ModelProto::decode(&b"\x0a"[..]).is_err());
    }
}
