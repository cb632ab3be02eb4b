/**
 * ttrpc, containerd's lightweight RPC over unix sockets: framing codec, server, client and the
 * mapping between wire status codes and our errors. Knows nothing of containerd's services.
 */
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  Flag,
  HEADER_LENGTH,
  MessageType,
  decodeHeader,
  encodeFrame,
  type Frame,
  type FrameHeader,
} from './frame.ts';
export { FrameDecoder, type Decoded, type FrameDecoderOptions } from './codec.ts';
export {
  GrpcCode,
  errorCodeOf,
  errorFromStatus,
  grpcCodeName,
  grpcCodeOf,
  newStatus,
  statusFromError,
  statusMessage,
} from './status.ts';
export {
  bindService,
  unary,
  type CallContext,
  type Metadata,
  type MethodHandler,
  type ServiceImpl,
  type TypedHandler,
} from './service.ts';
export {
  TtrpcServer,
  type ListenTarget,
  type ServerPhase,
  type ShutdownOptions,
  type TtrpcServerOptions,
} from './server.ts';
export {
  TtrpcClient,
  type CallOptions,
  type ClientPhase,
  type ConnectOptions,
  type TtrpcClientOptions,
  type UnaryMethod,
} from './client.ts';
