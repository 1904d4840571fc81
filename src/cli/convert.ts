import type { Command } from 'commander';
import { convertClipCheckpoint, describeConversion } from '../weights/convert.js';

interface ConvertOptions {
  clip: string;
  coop?: string;
  bpe?: string;
  out: string;
}

/** `tpt convert`: a PyTorch CLIP checkpoint (+ CoOp ctx, + vocabulary) → a TensorFlow.js weights folder. */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      "Convert OpenAI's CLIP checkpoint (TorchScript RN50.pt or a state_dict), optionally with CoOp's learned " +
        'context and the BPE vocabulary, into a weights folder (TensorFlow.js manifest + shards). Commands that ' +
        'take --weights accept this folder or the raw checkpoint.',
    )
    .requiredOption('--clip <file>', 'CLIP checkpoint: RN50.pt, ViT-B-16.pt, … (TorchScript) or a torch.save(state_dict) file')
    .option('--coop <file>', "CoOp prompt-learner checkpoint whose state_dict['ctx'] is stored with the weights")
    .option('--bpe <file>', 'CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) to copy into the folder')
    .requiredOption('--out <dir>', 'folder to write (created if missing)')
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  $ tpt convert --clip ~/.cache/clip/RN50.pt \\\n' +
        '      --coop output/imagenet/CoOp/rn50_16shots/nctx4_cscFalse_ctpend/seed1/prompt_learner/model.pth.tar-50 \\\n' +
        '      --bpe bpe_simple_vocab_16e6.txt.gz --out weights/rn50\n',
    )
    .action(async (opts: ConvertOptions) => {
      const report = await convertClipCheckpoint(opts);
      process.stdout.write(describeConversion(report).join('\n') + '\n');
    });
}
