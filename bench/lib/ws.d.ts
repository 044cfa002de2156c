/** The part of ws 8's API the benchmark uses (read the isolate's heap through the V8 inspector). */
declare module "ws" {
  import type { EventEmitter } from "node:events";

  namespace WebSocket {
    type RawData = Buffer | ArrayBuffer | Buffer[];
  }

  class WebSocket extends EventEmitter {
    constructor(url: string);
    send(data: string): void;
    close(): void;
  }

  export default WebSocket;
}
