import sharp from 'sharp';

/** Side of the square thumbnails in the gallery, in pixels. */
export const THUMBNAIL_SIZE = 72;

/**
 * A PNG data URI of the image at `path`, fitted into a square on white; null when the file is
 * missing or not an image (the report then shows a placeholder).
 */
export async function thumbnailDataUri(path: string, size = THUMBNAIL_SIZE): Promise<string | null> {
  try {
    const png = await sharp(path)
      .resize(size, size, { fit: 'contain', background: '#ffffff', kernel: 'nearest' })
      .flatten({ background: '#ffffff' })
      .png({ compressionLevel: 9, palette: true })
      .toBuffer();
    return `data:image/png;base64,${png.toString('base64')}`;
  } catch {
    return null;
  }
}
