using System.Text.Json.Nodes;
using UNet.Segmentation.Data.Msd;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Tests.Data;

public sealed class MsdTaskTests : IDisposable
{
    private readonly MsdTempTask _task = new(new SyntheticMsdOptions { TrainingCases = 3, TestCases = 1, Size = new(12, 16, 14), Seed = 3 });

    public void Dispose() => _task.Dispose();

    private string Json => Path.Combine(_task.Folder, "dataset.json");

    private void EditJson(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(Json))!.AsObject();
        edit(root);
        File.WriteAllText(Json, root.ToJsonString());
    }

    [Fact]
    public void Load_ReadsTheMsdFields()
    {
        var task = MsdTask.Load(_task.Folder);
        Assert.Equal("BRATS", task.Name);
        Assert.Equal(["FLAIR", "T1w", "t1gd", "T2w"], task.Modalities);
        Assert.Equal(["background", "edema", "non-enhancing tumor", "enhancing tumour"], task.Labels);
        Assert.False(task.IsCt);
        Assert.Equal(3, task.Training.Count);
        Assert.Single(task.Test);
        Assert.Equal("BRATS_001", task.Training[0].Id);
        Assert.Equal(Path.Combine(_task.Folder, "imagesTr", "BRATS_001.nii.gz"), task.Training[0].ImagePath);
        Assert.Equal(Path.Combine(_task.Folder, "labelsTr", "BRATS_001.nii.gz"), task.Training[0].LabelPath);
        Assert.Null(task.Test[0].LabelPath);
        Assert.True(File.Exists(task.Test[0].ImagePath));
    }

    [Fact]
    public void TrainingById_SortsOrdinally()
    {
        EditJson(root =>
        {
            var list = root["training"]!.AsArray();
            var first = list[0]!.DeepClone();
            list.RemoveAt(0);
            list.Add(first);
        });
        var task = MsdTask.Load(_task.Folder);
        Assert.Equal("BRATS_002", task.Training[0].Id);
        Assert.Equal(["BRATS_001", "BRATS_002", "BRATS_003"], task.TrainingById().Select(c => c.Id));
    }

    [Fact]
    public void MissingDatasetJson_NamesTheFile()
    {
        File.Delete(Json);
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal(Json, e.FilePath);
        Assert.Null(e.Field);
    }

    [Fact]
    public void MalformedJson_NamesTheFile()
    {
        File.WriteAllText(Json, "{ \"name\": ");
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal(Json, e.FilePath);
        Assert.Contains("JSON", e.Message);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("modality")]
    [InlineData("labels")]
    [InlineData("training")]
    public void MissingField_NamesTheField(string field)
    {
        EditJson(root => root.Remove(field));
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal(Json, e.FilePath);
        Assert.Equal(field, e.Field);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void TrainingEntryWithoutLabel_NamesTheEntry()
    {
        EditJson(root => root["training"]!.AsArray()[1]!.AsObject().Remove("label"));
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal("training[1].label", e.Field);
    }

    [Fact]
    public void LabelKeysWithAGap_AreRefused()
    {
        EditJson(root => root["labels"] = new JsonObject { ["0"] = "background", ["2"] = "tumour" });
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal("labels", e.Field);
        Assert.Contains("1 is missing", e.Message);
    }

    [Fact]
    public void NonNumericModalityKey_IsRefused()
    {
        EditJson(root => root["modality"]!.AsObject()["x"] = "T2");
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal("modality.x", e.Field);
    }

    [Fact]
    public void NumTrainingDisagreeingWithTheList_IsRefused()
    {
        EditJson(root => root["numTraining"] = 7);
        var e = Assert.Throws<MsdDataException>(() => MsdTask.Load(_task.Folder));
        Assert.Equal("numTraining", e.Field);
    }

    [Fact]
    public void ReadCase_GivesChannelsFirstImageLabelsAndSpacing()
    {
        var item = _task.Task.Training[0];
        var data = MsdCaseReader.Read(_task.Task, item);
        Assert.Equal(4, data.Image.Channels);
        Assert.Equal(new Shape3D(12, 16, 14), data.Image.Shape);
        Assert.Equal(data.Image.Shape, data.Labels!.Shape);
        Assert.Equal([1.0, 1.0, 1.0], data.Spacing);
        // Channel-first C-order is NIfTI's x-fastest order: the same voxel both ways.
        var nifti = NiftiFile.Read(item.ImagePath);
        Assert.Equal(nifti.ToScaledFloat32()[nifti.IndexOf(5, 7, 3, 2)], data.Image[2, 3, 7, 5]);
    }

    [Fact]
    public void CorruptImage_NamesTheFile()
    {
        var item = _task.Task.Training[1];
        byte[] bytes = File.ReadAllBytes(item.ImagePath);
        File.WriteAllBytes(item.ImagePath, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<MsdDataException>(() => MsdCaseReader.Read(_task.Task, item));
        Assert.Equal(item.ImagePath, e.FilePath);
    }

    [Fact]
    public void MissingLabelFile_NamesTheFile()
    {
        var item = _task.Task.Training[0];
        File.Delete(item.LabelPath!);
        var e = Assert.Throws<MsdDataException>(() => MsdCaseReader.Read(_task.Task, item));
        Assert.Equal(item.LabelPath, e.FilePath);
    }

    [Fact]
    public void LabelOfAnotherShape_IsRefusedNamingIt()
    {
        var item = _task.Task.Training[0];
        NiftiFile.Write(item.LabelPath!, NiftiImage.Create(new byte[14 * 16 * 11], 14, 16, 11));
        var e = Assert.Throws<MsdDataException>(() => MsdCaseReader.Read(_task.Task, item));
        Assert.Equal(item.LabelPath, e.FilePath);
        Assert.Contains("shape", e.Message);
    }

    [Fact]
    public void LabelWithAnotherAffine_IsRefused()
    {
        var item = _task.Task.Training[0];
        var label = NiftiFile.Read(item.LabelPath!);
        label.Header.SRowX[3] += 5;
        NiftiFile.Write(item.LabelPath!, label);
        var e = Assert.Throws<MsdDataException>(() => MsdCaseReader.Read(_task.Task, item));
        Assert.Equal(item.LabelPath, e.FilePath);
        Assert.Contains("affine", e.Message);
    }

    [Fact]
    public void LabelValueOutsideTheLabelsMap_IsRefusedWithItsVoxel()
    {
        var item = _task.Task.Training[0];
        var label = NiftiFile.Read(item.LabelPath!);
        var data = label.GetData<byte>();
        data[label.IndexOf(2, 3, 4)] = 4;
        NiftiFile.Write(item.LabelPath!, label);
        var e = Assert.Throws<MsdDataException>(() => MsdCaseReader.Read(_task.Task, item));
        Assert.Equal(item.LabelPath, e.FilePath);
        Assert.Contains("label value 4", e.Message);
        Assert.Contains("(2, 3, 4)", e.Message);
    }

    [Fact]
    public void ImageWithTheWrongNumberOfModalities_IsRefused()
    {
        var item = _task.Task.Training[0];
        var image = NiftiFile.Read(item.ImagePath);
        float[] three = image.GetData<float>()[..(14 * 16 * 12 * 3)];
        NiftiFile.Write(item.ImagePath, image.Like(three, 14, 16, 12, 3));
        var e = Assert.Throws<MsdDataException>(() => MsdCaseReader.Read(_task.Task, item));
        Assert.Equal(item.ImagePath, e.FilePath);
        Assert.Contains("4 modalities", e.Message);
    }
}
