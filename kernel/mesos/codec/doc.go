// Package codec encodes and decodes Mesos v1 protobuf messages in the two
// wire formats the Mesos HTTP APIs speak, and picks between them from the
// Content-Type and Accept headers.
//
// # JSON in the Mesos style
//
// Mesos does not use the canonical protobuf JSON mapping (protojson), and
// clients in the wild depend on the differences, so this package walks
// messages with protoreflect and writes:
//
//   - field names as written in the .proto file (snake_case);
//   - enums by value name; bytes as standard base64;
//   - every integer, 64-bit ones included, as a bare JSON number, so that
//     typed decoders such as Go's encoding/json accept range bounds and
//     nanosecond timestamps;
//   - fields in field-number order, and map entries sorted by key, so that
//     output is deterministic;
//   - every set field, and also every unset singular field that declares an
//     explicit proto2 default ("shell":true, "failover_timeout":0.0); unset
//     fields without a default and empty repeated fields are left out.
//
// Floating point numbers are written in decimal notation when their magnitude
// is in [1e-6, 1e21) and in exponent notation otherwise, using the shortest
// representation that reads back to the same value. An integral value in
// decimal notation always carries ".0" ("5.0", "128.0", "0.0"), as Mesos
// itself writes doubles. NaN and the infinities, which JSON cannot express,
// are written as the strings "NaN", "Infinity" and "-Infinity". Every other
// output is a plain JSON number that Go, JavaScript and Python all parse.
//
// Decoding is lenient in the ways Mesos clients need: unknown keys are
// ignored, null means unset, the lowerCamelCase JSON names are accepted as
// aliases of the field names, integers may be written with a fraction or an
// exponent when the value is integral (3.6e+06), numbers may be quoted
// ("31000"), doubles accept "NaN", "Infinity" and "-Infinity", and bytes
// accept standard or URL-safe base64, padded or not. Enums are accepted by
// name only: an unknown name is dropped silently from an optional or
// repeated field, and is an error in a required field. After decoding, proto2
// required fields are checked and a missing one is reported by its path, as in
// "codec: subscribe.framework_info.user: required field missing". Nesting is
// limited to MaxDepth levels so that hostile input cannot exhaust the stack.
//
// # Protobuf
//
// The binary codec is proto.Marshal and proto.Unmarshal (unknown fields are
// kept) with the same required-field check and error style as JSON.
//
// # Content negotiation
//
// ForContentType maps a request's Content-Type to a Codec, distinguishing a
// missing type (answer 400) from an unsupported one (answer 415). Negotiate
// picks the response codec from the Accept headers the way Mesos does: JSON
// whenever it is acceptable, and when Accept is absent; protobuf otherwise;
// and nothing (answer 406) when neither is acceptable.
package codec
