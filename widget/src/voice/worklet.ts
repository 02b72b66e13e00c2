// The capture worklet (dist/voice-worklet.js, loaded with audioWorklet.addModule from the Switchboard host): posts the
// microphone's mono samples to the page in blocks of 1024 at the AudioContext's rate; resampling happens in the page.

declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

class Capture extends AudioWorkletProcessor {
  private block = new Float32Array(1024);
  private n = 0;

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) {
        this.block[this.n++] = channel[i];
        if (this.n === this.block.length) {
          this.port.postMessage(this.block, [this.block.buffer]);
          this.block = new Float32Array(1024);
          this.n = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("switchboard-capture", Capture);
