import { parentPort, threadId } from 'node:worker_threads';
import { cachedPixels, storePixels } from './image-cache.js';
import { augmentPixels, decodePixels } from './image-decode.js';
import { WORKER_READY, type DecodeReply, type DecodeRequest } from './worker-protocol.js';

/** An item's decoded pixels: from its cache slot when filled, else decoded with sharp (and stored in the slot). */
async function pixelsOf(request: DecodeRequest): Promise<{ pixels: Uint8Array; cached: boolean }> {
  const { cache } = request;
  const stored = cache && cachedPixels(cache);
  if (stored) return { pixels: stored, cached: true };
  const pixels = await decodePixels(request.source, request.options);
  // An item of another channel count than the cache's is not stored; the stream refuses it.
  if (cache && pixels.length === cache.handle.slotBytes) storePixels(cache, pixels);
  return { pixels, cached: false };
}

async function reply(request: DecodeRequest): Promise<{ reply: DecodeReply; transfer: ArrayBuffer[] }> {
  const { task } = request;
  try {
    const { pixels, cached } = await pixelsOf(request);
    if (request.fillOnly) return { reply: { task, threadId, cached }, transfer: [] };
    const data = augmentPixels(pixels, request.source, request.options, request.seed);
    return { reply: { task, threadId, cached, data }, transfer: [data.buffer as ArrayBuffer] };
  } catch (error) {
    return { reply: { task, threadId, error: (error as Error).message ?? String(error) }, transfer: [] };
  }
}

/** Decodes and augments the chunks of items a DecoderPool (core/data/images.ts) sends, one item at a time. */
const port = parentPort!;
port.on('message', (requests: DecodeRequest[]) => {
  void (async () => {
    const done = [];
    for (const request of requests) done.push(await reply(request));
    port.postMessage(
      done.map((item) => item.reply),
      done.flatMap((item) => item.transfer),
    );
  })();
});
port.postMessage(WORKER_READY);
