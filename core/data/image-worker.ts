import { parentPort, threadId } from 'node:worker_threads';
import { decodeImage } from './image-decode.js';
import type { DecodeReply, DecodeRequest } from './images.js';

/** Decodes and augments items sent by a DecoderPool (core/data/images.ts), one at a time. */
const port = parentPort!;
port.on('message', (request: DecodeRequest) => {
  decodeImage(request.source, request.options, request.seed).then(
    (data) =>
      port.postMessage({ task: request.task, threadId, data } satisfies DecodeReply, [data.buffer as ArrayBuffer]),
    (error: unknown) =>
      port.postMessage({
        task: request.task,
        threadId,
        error: (error as Error).message ?? String(error),
      } satisfies DecodeReply),
  );
});
